//! The window geometry shared by convolutions and pools: the attributes (`auto_pad`,
//! `kernel_shape`, `strides`, `pads`, `dilations`, `ceil_mode`) and their resolution into
//! explicit 2-D padding and output sizes.

use crate::attrs::Attrs;
use crate::shape::{Issue, invalid};

/// How a convolution or pool pads its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AutoPad {
    /// Explicit `pads`.
    NotSet,
    /// No padding.
    Valid,
    /// Pad so that `out = ceil(in / stride)`, extra padding at the end.
    SameUpper,
    /// Pad so that `out = ceil(in / stride)`, extra padding at the start.
    SameLower,
}

/// Geometry attributes shared by Conv, AveragePool and MaxPool (2-D only in v1).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct WindowSpec {
    pub(crate) auto_pad: AutoPad,
    /// `kernel_shape`; for Conv it may be absent and is then taken from the weight.
    pub(crate) kernel: Option<Vec<usize>>,
    pub(crate) strides: Option<Vec<usize>>,
    /// ONNX order: all begins, then all ends.
    pub(crate) pads: Option<Vec<usize>>,
    pub(crate) dilations: Option<Vec<usize>>,
    /// Output size rounds up instead of down (pools only).
    pub(crate) ceil_mode: bool,
}

/// Parses the window attributes of a Conv (`pool: false`) or a pool.
pub(crate) fn window(a: &Attrs<'_>, pool: bool) -> Result<WindowSpec, String> {
    let auto_pad = match a.string("auto_pad")?.as_deref() {
        None | Some("NOTSET") => AutoPad::NotSet,
        Some("VALID") => AutoPad::Valid,
        Some("SAME_UPPER") => AutoPad::SameUpper,
        Some("SAME_LOWER") => AutoPad::SameLower,
        Some(other) => return Err(format!("auto_pad '{other}' is not a valid value")),
    };
    let kernel = a.positive_ints("kernel_shape")?;
    if pool && kernel.is_none() {
        return Err("pooling needs the 'kernel_shape' attribute".into());
    }
    Ok(WindowSpec {
        auto_pad,
        kernel,
        strides: a.positive_ints("strides")?,
        pads: a.non_negative_ints("pads")?,
        dilations: a.positive_ints("dilations")?,
        ceil_mode: a.flag("ceil_mode", false)?,
    })
}

/// Resolved 2-D window geometry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    pub(crate) kernel: [usize; 2],
    pub(crate) strides: [usize; 2],
    pub(crate) dilations: [usize; 2],
    /// Top, left, bottom, right.
    pub(crate) pads: [usize; 4],
    pub(crate) out: [usize; 2],
}

fn pair(v: &Option<Vec<usize>>, name: &str) -> Result<[usize; 2], Issue> {
    match v.as_deref() {
        None => Ok([1, 1]),
        Some([a, b]) => Ok([*a, *b]),
        Some(v) => invalid(format!("{name} has {} values; 2-D ops need 2", v.len())),
    }
}

/// Resolves strides, dilations, padding (explicit or `auto_pad`) and the output size.
pub(crate) fn geometry(
    spec: &WindowSpec,
    hw: [usize; 2],
    kernel: [usize; 2],
) -> Result<Geometry, Issue> {
    let strides = pair(&spec.strides, "strides")?;
    let dilations = pair(&spec.dilations, "dilations")?;
    let mut pads = [0usize; 4];
    match spec.auto_pad {
        AutoPad::NotSet => match spec.pads.as_deref() {
            None => {}
            Some(&[t, l, b, r]) => pads = [t, l, b, r],
            Some(p) => return invalid(format!("pads has {} values; 2-D ops need 4", p.len())),
        },
        AutoPad::Valid => {}
        AutoPad::SameUpper | AutoPad::SameLower => {
            if spec
                .pads
                .as_ref()
                .is_some_and(|p| p.iter().any(|&x| x != 0))
            {
                return invalid("auto_pad and explicit pads are both given");
            }
            for i in 0..2 {
                let out = hw[i].div_ceil(strides[i]);
                let span = (kernel[i] - 1) * dilations[i] + 1;
                let total = ((out - 1) * strides[i] + span).saturating_sub(hw[i]);
                let (small, big) = (total / 2, total - total / 2);
                let (begin, end) = if spec.auto_pad == AutoPad::SameUpper {
                    (small, big)
                } else {
                    (big, small)
                };
                pads[i] = begin;
                pads[i + 2] = end;
            }
        }
    }
    let mut out = [0usize; 2];
    for i in 0..2 {
        let span = (kernel[i] - 1) * dilations[i] + 1;
        let padded = hw[i] + pads[i] + pads[i + 2];
        if span > padded {
            return invalid(format!(
                "window {kernel:?} (dilations {dilations:?}) does not fit input {hw:?} with pads \
                 {pads:?}"
            ));
        }
        let room = padded - span;
        out[i] = if spec.ceil_mode {
            room.div_ceil(strides[i]) + 1
        } else {
            room / strides[i] + 1
        };
        // In ceil mode a last window that starts inside the end padding is dropped.
        if spec.ceil_mode && (out[i] - 1) * strides[i] >= hw[i] + pads[i] {
            out[i] -= 1;
        }
    }
    Ok(Geometry {
        kernel,
        strides,
        dilations,
        pads,
        out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(auto_pad: AutoPad, strides: [usize; 2], pads: Option<[usize; 4]>) -> WindowSpec {
        WindowSpec {
            auto_pad,
            kernel: None,
            strides: Some(strides.to_vec()),
            pads: pads.map(|p| p.to_vec()),
            dilations: None,
            ceil_mode: false,
        }
    }

    #[test]
    fn same_padding_puts_the_odd_pixel_where_onnx_says() {
        // in 5, k 2, stride 2: out 3, total pad 1.
        let g = geometry(&spec(AutoPad::SameUpper, [2, 2], None), [5, 5], [2, 2]).unwrap();
        assert_eq!((g.pads, g.out), ([0, 0, 1, 1], [3, 3]));
        let g = geometry(&spec(AutoPad::SameLower, [2, 2], None), [5, 5], [2, 2]).unwrap();
        assert_eq!(g.pads, [1, 1, 0, 0]);
        let g = geometry(
            &spec(AutoPad::NotSet, [2, 1], Some([1, 0, 1, 0])),
            [4, 4],
            [3, 3],
        )
        .unwrap();
        assert_eq!(g.out, [2, 2]);
    }

    #[test]
    fn ceil_mode_rounds_up_but_drops_windows_in_the_padding() {
        let mut s = spec(AutoPad::NotSet, [2, 2], None);
        s.ceil_mode = true;
        assert_eq!(geometry(&s, [5, 5], [2, 2]).unwrap().out, [3, 3]);
        assert_eq!(geometry(&s, [4, 4], [2, 2]).unwrap().out, [2, 2]);
    }
}
