//! The subnet's synapses: QueryZkProof, ProofOfWeightsSynapse, QueryForCapacities, Competition.
