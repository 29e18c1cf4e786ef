//! The embedded chain's SQLite schema and typed row access. Every state change of a block or a
//! call happens inside one SQLite transaction, so a crash never leaves half a call behind and a
//! restarted chain continues from its last block.

use omron_keys::AccountId;
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::{ChainError, ChainResult};
use crate::types::{
    AxonInfo, BlockNumber, Commitment, Hyperparameters, NetUid, NeuronInfo, Proportion, Rao,
    SubnetOwner, Uid,
};

/// Bumped whenever the tables below change shape.
pub(crate) const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
    account BLOB PRIMARY KEY, balance INTEGER NOT NULL DEFAULT 0, nonce INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS hotkey_owner (hotkey BLOB PRIMARY KEY, coldkey BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS subnets (
    netuid INTEGER PRIMARY KEY, owner_coldkey BLOB NOT NULL, owner_hotkey BLOB NOT NULL,
    created_at INTEGER NOT NULL, pending_emission INTEGER NOT NULL DEFAULT 0,
    hyperparameters TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS neurons (
    netuid INTEGER NOT NULL, uid INTEGER NOT NULL, hotkey BLOB NOT NULL, coldkey BLOB NOT NULL,
    registered_at INTEGER NOT NULL, last_update INTEGER NOT NULL,
    axon_block INTEGER NOT NULL DEFAULT 0, axon_version INTEGER NOT NULL DEFAULT 0,
    axon_ip BLOB NOT NULL DEFAULT x'00000000000000000000000000000000',
    axon_port INTEGER NOT NULL DEFAULT 0, axon_ip_type INTEGER NOT NULL DEFAULT 0,
    axon_protocol INTEGER NOT NULL DEFAULT 0,
    validator_permit INTEGER NOT NULL DEFAULT 0, active INTEGER NOT NULL DEFAULT 1,
    rank INTEGER NOT NULL DEFAULT 0, trust INTEGER NOT NULL DEFAULT 0,
    consensus INTEGER NOT NULL DEFAULT 0, incentive INTEGER NOT NULL DEFAULT 0,
    dividends INTEGER NOT NULL DEFAULT 0, validator_trust INTEGER NOT NULL DEFAULT 0,
    emission INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (netuid, uid), UNIQUE (netuid, hotkey));
CREATE TABLE IF NOT EXISTS stakes (
    hotkey BLOB NOT NULL, coldkey BLOB NOT NULL, netuid INTEGER NOT NULL, amount INTEGER NOT NULL,
    PRIMARY KEY (hotkey, coldkey, netuid));
CREATE TABLE IF NOT EXISTS weights (
    netuid INTEGER NOT NULL, uid INTEGER NOT NULL, target INTEGER NOT NULL, value INTEGER NOT NULL,
    PRIMARY KEY (netuid, uid, target));
CREATE TABLE IF NOT EXISTS bonds (
    netuid INTEGER NOT NULL, uid INTEGER NOT NULL, target INTEGER NOT NULL, value REAL NOT NULL,
    PRIMARY KEY (netuid, uid, target));
CREATE TABLE IF NOT EXISTS weight_commits (
    id INTEGER PRIMARY KEY AUTOINCREMENT, netuid INTEGER NOT NULL, hotkey BLOB NOT NULL,
    hash BLOB NOT NULL, commit_block INTEGER NOT NULL, commit_epoch INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS commitments (
    netuid INTEGER NOT NULL, hotkey BLOB NOT NULL, block INTEGER NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (netuid, hotkey));
";

/// Creates the tables (idempotent) and checks the schema version.
pub(crate) fn init(conn: &Connection, path: &str) -> ChainResult<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.execute_batch(SCHEMA)?;
    let found: Option<i64> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    match found {
        None => {
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)",
                params![SCHEMA_VERSION],
            )?;
        }
        Some(v) if v == SCHEMA_VERSION => {}
        Some(found) => {
            return Err(ChainError::SchemaVersion {
                path: path.to_owned(),
                expected: SCHEMA_VERSION,
                found,
            });
        }
    }
    Ok(())
}

fn account(bytes: Vec<u8>) -> ChainResult<AccountId> {
    let arr: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| ChainError::Decode {
        what: "account id in chain state".into(),
        reason: format!("expected 32 bytes, got {}", b.len()),
    })?;
    Ok(AccountId(arr))
}

pub(crate) fn meta_u64(tx: &Connection, key: &str) -> ChainResult<Option<u64>> {
    Ok(tx
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

pub(crate) fn set_meta_u64(tx: &Connection, key: &str, value: u64) -> ChainResult<()> {
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

pub(crate) fn meta_blob(tx: &Connection, key: &str) -> ChainResult<Option<Vec<u8>>> {
    Ok(tx
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

pub(crate) fn set_meta_blob(tx: &Connection, key: &str, value: &[u8]) -> ChainResult<()> {
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

pub(crate) fn block(tx: &Connection) -> ChainResult<BlockNumber> {
    Ok(meta_u64(tx, "block")?.unwrap_or(0))
}

pub(crate) fn balance(tx: &Connection, who: &AccountId) -> ChainResult<Rao> {
    Ok(tx
        .query_row(
            "SELECT balance FROM accounts WHERE account = ?1",
            [who.as_bytes()],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0))
}

pub(crate) fn set_balance(tx: &Connection, who: &AccountId, amount: Rao) -> ChainResult<()> {
    tx.execute(
        "INSERT INTO accounts (account, balance) VALUES (?1, ?2)
         ON CONFLICT(account) DO UPDATE SET balance = excluded.balance",
        params![who.as_bytes(), amount],
    )?;
    Ok(())
}

pub(crate) fn nonce(tx: &Connection, who: &AccountId) -> ChainResult<u64> {
    Ok(tx
        .query_row(
            "SELECT nonce FROM accounts WHERE account = ?1",
            [who.as_bytes()],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0))
}

pub(crate) fn set_nonce(tx: &Connection, who: &AccountId, nonce: u64) -> ChainResult<()> {
    tx.execute(
        "INSERT INTO accounts (account, nonce) VALUES (?1, ?2)
         ON CONFLICT(account) DO UPDATE SET nonce = excluded.nonce",
        params![who.as_bytes(), nonce],
    )?;
    Ok(())
}

pub(crate) fn hotkey_owner(tx: &Connection, hotkey: &AccountId) -> ChainResult<Option<AccountId>> {
    let raw: Option<Vec<u8>> = tx
        .query_row(
            "SELECT coldkey FROM hotkey_owner WHERE hotkey = ?1",
            [hotkey.as_bytes()],
            |r| r.get(0),
        )
        .optional()?;
    raw.map(account).transpose()
}

pub(crate) fn set_hotkey_owner(
    tx: &Connection,
    hotkey: &AccountId,
    coldkey: &AccountId,
) -> ChainResult<()> {
    tx.execute(
        "INSERT OR IGNORE INTO hotkey_owner (hotkey, coldkey) VALUES (?1, ?2)",
        params![hotkey.as_bytes(), coldkey.as_bytes()],
    )?;
    Ok(())
}

/// A subnet row.
#[derive(Clone, Debug)]
pub(crate) struct SubnetRow {
    pub(crate) netuid: NetUid,
    pub(crate) owner: SubnetOwner,
    pub(crate) pending_emission: Rao,
    pub(crate) hyperparameters: Hyperparameters,
}

type RawSubnet = (NetUid, Vec<u8>, Vec<u8>, Rao, String);

fn subnet_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawSubnet> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn finish_subnet(raw: RawSubnet) -> ChainResult<SubnetRow> {
    let (netuid, cold, hot, pending_emission, hyper) = raw;
    let hyperparameters = serde_json::from_str(&hyper).map_err(|e| ChainError::Decode {
        what: format!("hyperparameters of subnet {netuid}"),
        reason: e.to_string(),
    })?;
    Ok(SubnetRow {
        netuid,
        owner: SubnetOwner {
            coldkey: account(cold)?,
            hotkey: account(hot)?,
        },
        pending_emission,
        hyperparameters,
    })
}

const SUBNET_COLUMNS: &str =
    "netuid, owner_coldkey, owner_hotkey, pending_emission, hyperparameters";

pub(crate) fn subnet(tx: &Connection, netuid: NetUid) -> ChainResult<Option<SubnetRow>> {
    let raw = tx
        .query_row(
            &format!("SELECT {SUBNET_COLUMNS} FROM subnets WHERE netuid = ?1"),
            [netuid],
            subnet_from_row,
        )
        .optional()?;
    raw.map(finish_subnet).transpose()
}

pub(crate) fn subnets(tx: &Connection) -> ChainResult<Vec<SubnetRow>> {
    let mut stmt = tx.prepare(&format!(
        "SELECT {SUBNET_COLUMNS} FROM subnets ORDER BY netuid"
    ))?;
    let rows = stmt
        .query_map([], subnet_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter().map(finish_subnet).collect()
}

pub(crate) fn next_netuid(tx: &Connection) -> ChainResult<NetUid> {
    let max: Option<NetUid> = tx.query_row("SELECT MAX(netuid) FROM subnets", [], |r| r.get(0))?;
    Ok(max.map_or(1, |m| m.saturating_add(1)))
}

pub(crate) fn insert_subnet(
    tx: &Connection,
    netuid: NetUid,
    owner: &SubnetOwner,
    created_at: BlockNumber,
    hyper: &Hyperparameters,
) -> ChainResult<()> {
    let json = serde_json::to_string(hyper).map_err(|e| ChainError::Decode {
        what: "hyperparameters".into(),
        reason: e.to_string(),
    })?;
    tx.execute(
        "INSERT INTO subnets (netuid, owner_coldkey, owner_hotkey, created_at, hyperparameters)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            netuid,
            owner.coldkey.as_bytes(),
            owner.hotkey.as_bytes(),
            created_at,
            json
        ],
    )?;
    Ok(())
}

pub(crate) fn set_hyperparameters(
    tx: &Connection,
    netuid: NetUid,
    hyper: &Hyperparameters,
) -> ChainResult<()> {
    let json = serde_json::to_string(hyper).map_err(|e| ChainError::Decode {
        what: "hyperparameters".into(),
        reason: e.to_string(),
    })?;
    tx.execute(
        "UPDATE subnets SET hyperparameters = ?2 WHERE netuid = ?1",
        params![netuid, json],
    )?;
    Ok(())
}

pub(crate) fn set_pending_emission(
    tx: &Connection,
    netuid: NetUid,
    amount: Rao,
) -> ChainResult<()> {
    tx.execute(
        "UPDATE subnets SET pending_emission = ?2 WHERE netuid = ?1",
        params![netuid, amount],
    )?;
    Ok(())
}

const NEURON_COLUMNS: &str = "uid, hotkey, coldkey, registered_at, last_update, axon_block,
    axon_version, axon_ip, axon_port, axon_ip_type, axon_protocol, validator_permit, active, rank,
    trust, consensus, incentive, dividends, validator_trust, emission";

type RawNeuron = (
    Uid,
    Vec<u8>,
    Vec<u8>,
    u64,
    u64,
    u64,
    u32,
    Vec<u8>,
    u16,
    u8,
    u8,
    bool,
    bool,
    [u16; 6],
    Rao,
);

fn neuron_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawNeuron> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
        r.get(11)?,
        r.get(12)?,
        [
            r.get(13)?,
            r.get(14)?,
            r.get(15)?,
            r.get(16)?,
            r.get(17)?,
            r.get(18)?,
        ],
        r.get(19)?,
    ))
}

fn finish_neuron(raw: RawNeuron, stake: Rao) -> ChainResult<NeuronInfo> {
    let (
        uid,
        hot,
        cold,
        registered_at,
        last_update,
        ablock,
        aver,
        aip,
        aport,
        aiptype,
        aproto,
        permit,
        active,
        p,
        emission,
    ) = raw;
    let ip_bytes: [u8; 16] = aip.try_into().map_err(|b: Vec<u8>| ChainError::Decode {
        what: format!("axon ip of uid {uid}"),
        reason: format!("expected 16 bytes, got {}", b.len()),
    })?;
    Ok(NeuronInfo {
        uid,
        hotkey: account(hot)?,
        coldkey: account(cold)?,
        stake,
        validator_permit: permit,
        axon: AxonInfo {
            block: ablock,
            version: aver,
            ip: u128::from_be_bytes(ip_bytes),
            port: aport,
            ip_type: aiptype,
            protocol: aproto,
        },
        last_update,
        block_at_registration: registered_at,
        rank: Proportion(p[0]),
        trust: Proportion(p[1]),
        consensus: Proportion(p[2]),
        incentive: Proportion(p[3]),
        dividends: Proportion(p[4]),
        validator_trust: Proportion(p[5]),
        emission,
        active,
    })
}

/// Total stake per hotkey in a subnet.
pub(crate) fn stake_of(tx: &Connection, netuid: NetUid, hotkey: &AccountId) -> ChainResult<Rao> {
    let total: Option<i64> = tx.query_row(
        "SELECT SUM(amount) FROM stakes WHERE netuid = ?1 AND hotkey = ?2",
        params![netuid, hotkey.as_bytes()],
        |r| r.get(0),
    )?;
    Ok(total.map_or(0, |t| u64::try_from(t).unwrap_or(0)))
}

/// All neurons of a subnet ordered by uid, with their stake.
pub(crate) fn neurons(tx: &Connection, netuid: NetUid) -> ChainResult<Vec<NeuronInfo>> {
    // Stake per hotkey in one pass, not one query per neuron.
    let mut stakes = std::collections::HashMap::<Vec<u8>, i64>::new();
    let mut stmt =
        tx.prepare("SELECT hotkey, SUM(amount) FROM stakes WHERE netuid = ?1 GROUP BY hotkey")?;
    for row in stmt.query_map([netuid], |r| {
        Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?))
    })? {
        let (hotkey, total) = row?;
        stakes.insert(hotkey, total);
    }
    let mut stmt = tx.prepare(&format!(
        "SELECT {NEURON_COLUMNS} FROM neurons WHERE netuid = ?1 ORDER BY uid"
    ))?;
    let raws = stmt
        .query_map([netuid], neuron_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    raws.into_iter()
        .map(|raw| {
            let stake = stakes
                .get(&raw.1)
                .map_or(0, |t| u64::try_from(*t).unwrap_or(0));
            finish_neuron(raw, stake)
        })
        .collect()
}

pub(crate) fn neuron(tx: &Connection, netuid: NetUid, uid: Uid) -> ChainResult<Option<NeuronInfo>> {
    let raw = tx
        .query_row(
            &format!("SELECT {NEURON_COLUMNS} FROM neurons WHERE netuid = ?1 AND uid = ?2"),
            params![netuid, uid],
            neuron_from_row,
        )
        .optional()?;
    match raw {
        None => Ok(None),
        Some(raw) => {
            let hot = account(raw.1.clone())?;
            let stake = stake_of(tx, netuid, &hot)?;
            finish_neuron(raw, stake).map(Some)
        }
    }
}

pub(crate) fn uid_of(
    tx: &Connection,
    netuid: NetUid,
    hotkey: &AccountId,
) -> ChainResult<Option<Uid>> {
    Ok(tx
        .query_row(
            "SELECT uid FROM neurons WHERE netuid = ?1 AND hotkey = ?2",
            params![netuid, hotkey.as_bytes()],
            |r| r.get(0),
        )
        .optional()?)
}

pub(crate) fn neuron_count(tx: &Connection, netuid: NetUid) -> ChainResult<u16> {
    Ok(tx.query_row(
        "SELECT COUNT(*) FROM neurons WHERE netuid = ?1",
        [netuid],
        |r| r.get(0),
    )?)
}

/// Puts a fresh neuron into `uid` (new or replacing a pruned one) and clears what the previous
/// holder left: its weights, the bonds to and from it.
pub(crate) fn put_neuron(
    tx: &Connection,
    netuid: NetUid,
    uid: Uid,
    hotkey: &AccountId,
    coldkey: &AccountId,
    block: BlockNumber,
) -> ChainResult<()> {
    tx.execute(
        "DELETE FROM neurons WHERE netuid = ?1 AND uid = ?2",
        params![netuid, uid],
    )?;
    tx.execute(
        "DELETE FROM weights WHERE netuid = ?1 AND uid = ?2",
        params![netuid, uid],
    )?;
    tx.execute(
        "DELETE FROM bonds WHERE netuid = ?1 AND (uid = ?2 OR target = ?2)",
        params![netuid, uid],
    )?;
    tx.execute(
        "INSERT INTO neurons (netuid, uid, hotkey, coldkey, registered_at, last_update)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![netuid, uid, hotkey.as_bytes(), coldkey.as_bytes(), block],
    )?;
    Ok(())
}

pub(crate) fn set_last_update(
    tx: &Connection,
    netuid: NetUid,
    uid: Uid,
    block: BlockNumber,
) -> ChainResult<()> {
    tx.execute(
        "UPDATE neurons SET last_update = ?3 WHERE netuid = ?1 AND uid = ?2",
        params![netuid, uid, block],
    )?;
    Ok(())
}

pub(crate) fn set_axon(
    tx: &Connection,
    netuid: NetUid,
    uid: Uid,
    axon: &AxonInfo,
) -> ChainResult<()> {
    tx.execute(
        "UPDATE neurons SET axon_block = ?3, axon_version = ?4, axon_ip = ?5, axon_port = ?6,
         axon_ip_type = ?7, axon_protocol = ?8 WHERE netuid = ?1 AND uid = ?2",
        params![
            netuid,
            uid,
            axon.block,
            axon.version,
            axon.ip.to_be_bytes().to_vec(),
            axon.port,
            axon.ip_type,
            axon.protocol
        ],
    )?;
    Ok(())
}

/// Epoch results of one uid.
pub(crate) struct EpochRow {
    pub(crate) validator_permit: bool,
    pub(crate) active: bool,
    pub(crate) proportions: [Proportion; 6],
    pub(crate) emission: Rao,
}

pub(crate) fn set_epoch_row(
    tx: &Connection,
    netuid: NetUid,
    uid: Uid,
    row: &EpochRow,
) -> ChainResult<()> {
    let p = row.proportions;
    tx.execute(
        "UPDATE neurons SET validator_permit = ?3, active = ?4, rank = ?5, trust = ?6,
         consensus = ?7, incentive = ?8, dividends = ?9, validator_trust = ?10, emission = ?11
         WHERE netuid = ?1 AND uid = ?2",
        params![
            netuid,
            uid,
            row.validator_permit,
            row.active,
            p[0].0,
            p[1].0,
            p[2].0,
            p[3].0,
            p[4].0,
            p[5].0,
            row.emission
        ],
    )?;
    Ok(())
}

pub(crate) fn set_weights(
    tx: &Connection,
    netuid: NetUid,
    uid: Uid,
    pairs: &[(Uid, u16)],
) -> ChainResult<()> {
    tx.execute(
        "DELETE FROM weights WHERE netuid = ?1 AND uid = ?2",
        params![netuid, uid],
    )?;
    let mut stmt =
        tx.prepare("INSERT INTO weights (netuid, uid, target, value) VALUES (?1, ?2, ?3, ?4)")?;
    for (target, value) in pairs {
        stmt.execute(params![netuid, uid, target, value])?;
    }
    Ok(())
}

/// Weight rows of a subnet: `(uid, target, value)`.
pub(crate) fn weights(tx: &Connection, netuid: NetUid) -> ChainResult<Vec<(Uid, Uid, u16)>> {
    let mut stmt = tx.prepare("SELECT uid, target, value FROM weights WHERE netuid = ?1")?;
    let rows = stmt.query_map([netuid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Bond entries of a subnet: `(uid, target, value)`.
pub(crate) fn bonds(tx: &Connection, netuid: NetUid) -> ChainResult<Vec<(Uid, Uid, f64)>> {
    let mut stmt = tx.prepare("SELECT uid, target, value FROM bonds WHERE netuid = ?1")?;
    let rows = stmt.query_map([netuid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub(crate) fn replace_bonds(
    tx: &Connection,
    netuid: NetUid,
    bonds: &[Vec<f64>],
) -> ChainResult<()> {
    tx.execute("DELETE FROM bonds WHERE netuid = ?1", [netuid])?;
    let mut stmt =
        tx.prepare("INSERT INTO bonds (netuid, uid, target, value) VALUES (?1, ?2, ?3, ?4)")?;
    for (i, row) in bonds.iter().enumerate() {
        for (j, value) in row.iter().enumerate() {
            if *value > 0.0 {
                stmt.execute(params![netuid, i as i64, j as i64, value])?;
            }
        }
    }
    Ok(())
}

/// Stake entries on a hotkey in a subnet: `(coldkey, amount)`.
pub(crate) fn stakers(
    tx: &Connection,
    netuid: NetUid,
    hotkey: &AccountId,
) -> ChainResult<Vec<(AccountId, Rao)>> {
    let mut stmt = tx.prepare(
        "SELECT coldkey, amount FROM stakes WHERE netuid = ?1 AND hotkey = ?2 ORDER BY coldkey",
    )?;
    let rows = stmt
        .query_map(params![netuid, hotkey.as_bytes()], |r| {
            Ok((r.get::<_, Vec<u8>>(0)?, r.get(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|(c, a)| Ok((account(c)?, a)))
        .collect()
}

pub(crate) fn add_stake(
    tx: &Connection,
    netuid: NetUid,
    hotkey: &AccountId,
    coldkey: &AccountId,
    amount: Rao,
) -> ChainResult<()> {
    tx.execute(
        "INSERT INTO stakes (hotkey, coldkey, netuid, amount) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(hotkey, coldkey, netuid) DO UPDATE SET amount = amount + excluded.amount",
        params![hotkey.as_bytes(), coldkey.as_bytes(), netuid, amount],
    )?;
    Ok(())
}

/// A pending CRv2 commit.
pub(crate) struct CommitRow {
    pub(crate) id: i64,
    pub(crate) hash: Vec<u8>,
    pub(crate) commit_epoch: u64,
}

pub(crate) fn commits(
    tx: &Connection,
    netuid: NetUid,
    hotkey: &AccountId,
) -> ChainResult<Vec<CommitRow>> {
    let mut stmt = tx.prepare(
        "SELECT id, hash, commit_epoch FROM weight_commits WHERE netuid = ?1 AND hotkey = ?2 ORDER BY id",
    )?;
    let rows = stmt.query_map(params![netuid, hotkey.as_bytes()], |r| {
        Ok(CommitRow {
            id: r.get(0)?,
            hash: r.get(1)?,
            commit_epoch: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

pub(crate) fn insert_commit(
    tx: &Connection,
    netuid: NetUid,
    hotkey: &AccountId,
    hash: &[u8; 32],
    block: BlockNumber,
    epoch: u64,
) -> ChainResult<()> {
    tx.execute(
        "INSERT INTO weight_commits (netuid, hotkey, hash, commit_block, commit_epoch)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![netuid, hotkey.as_bytes(), hash.as_slice(), block, epoch],
    )?;
    Ok(())
}

pub(crate) fn delete_commit(tx: &Connection, id: i64) -> ChainResult<()> {
    tx.execute("DELETE FROM weight_commits WHERE id = ?1", [id])?;
    Ok(())
}

pub(crate) fn set_commitment(
    tx: &Connection,
    netuid: NetUid,
    hotkey: &AccountId,
    block: BlockNumber,
    data: &[u8],
) -> ChainResult<()> {
    tx.execute(
        "INSERT INTO commitments (netuid, hotkey, block, data) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(netuid, hotkey) DO UPDATE SET block = excluded.block, data = excluded.data",
        params![netuid, hotkey.as_bytes(), block, data],
    )?;
    Ok(())
}

pub(crate) fn commitment(
    tx: &Connection,
    netuid: NetUid,
    hotkey: &AccountId,
) -> ChainResult<Option<Commitment>> {
    Ok(tx
        .query_row(
            "SELECT block, data FROM commitments WHERE netuid = ?1 AND hotkey = ?2",
            params![netuid, hotkey.as_bytes()],
            |r| {
                Ok(Commitment {
                    block: r.get(0)?,
                    data: r.get(1)?,
                })
            },
        )
        .optional()?)
}
