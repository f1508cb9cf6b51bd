//! pcapng blocks: Section Header, Interface Description, Enhanced Packet and
//! Simple Packet (others are skipped). Both byte orders are accepted.

use super::CaptureError;

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 0x0000_0001;
const SPB: u32 = 0x0000_0003;
const EPB: u32 = 0x0000_0006;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;

/// A captured link-layer frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// LINKTYPE_* of its interface (1 = Ethernet, 113 = Linux cooked, …).
    pub link_type: u16,
    /// Raw timestamp in the interface's units (EPB only; 0 for SPB).
    pub timestamp: u64,
    /// The captured bytes.
    pub data: &'a [u8],
}

#[derive(Debug, Clone, Copy)]
struct Interface {
    link_type: u16,
    snap_len: u32,
}

/// Iterator over the frames of a pcapng file.
#[derive(Debug)]
pub struct Frames<'a> {
    file: &'a [u8],
    pos: usize,
    big_endian: bool,
    interfaces: Vec<Interface>,
    failed: bool,
}

/// Frames of `file`, in file order.
pub fn frames(file: &[u8]) -> Frames<'_> {
    Frames { file, pos: 0, big_endian: false, interfaces: Vec::new(), failed: false }
}

impl<'a> Frames<'a> {
    fn u32_at(&self, b: &[u8], at: usize) -> Option<u32> {
        let v: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        Some(if self.big_endian { u32::from_be_bytes(v) } else { u32::from_le_bytes(v) })
    }
    fn u16_at(&self, b: &[u8], at: usize) -> Option<u16> {
        let v: [u8; 2] = b.get(at..at + 2)?.try_into().ok()?;
        Some(if self.big_endian { u16::from_be_bytes(v) } else { u16::from_le_bytes(v) })
    }

    fn bad(&mut self, reason: &'static str) -> Option<Result<Frame<'a>, CaptureError>> {
        self.failed = true;
        Some(Err(CaptureError::BadBlock { offset: self.pos, reason }))
    }

    fn next_block(&mut self) -> Option<Result<Frame<'a>, CaptureError>> {
        loop {
            let file = self.file;
            let rest = file.get(self.pos..)?;
            if rest.is_empty() {
                return None;
            }
            if rest.len() < 12 {
                return self.bad("truncated block header");
            }
            let raw_type = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
            if raw_type == SHB {
                // The byte-order magic decides how to read everything in the section.
                let bom = [rest[8], rest[9], rest[10], rest[11]];
                self.big_endian = match (u32::from_le_bytes(bom), u32::from_be_bytes(bom)) {
                    (BYTE_ORDER_MAGIC, _) => false,
                    (_, BYTE_ORDER_MAGIC) => true,
                    _ => return self.bad("bad byte-order magic"),
                };
                self.interfaces.clear();
            } else if self.pos == 0 {
                self.failed = true;
                return Some(Err(CaptureError::NotPcapng));
            }
            let block_type = self.u32_at(rest, 0)?;
            let len = self.u32_at(rest, 4)? as usize;
            if len < 12 || !len.is_multiple_of(4) || len > rest.len() {
                return self.bad("bad block length");
            }
            if self.u32_at(rest, len - 4) != Some(len as u32) {
                return self.bad("trailing block length mismatch");
            }
            let body = &rest[8..len - 4];
            let at = self.pos;
            self.pos += len;
            match block_type {
                IDB => {
                    let (Some(link_type), Some(snap_len)) = (self.u16_at(body, 0), self.u32_at(body, 4)) else {
                        self.pos = at;
                        return self.bad("truncated interface description");
                    };
                    self.interfaces.push(Interface { link_type, snap_len });
                }
                EPB => {
                    let fields =
                        (self.u32_at(body, 0), self.u32_at(body, 4), self.u32_at(body, 8), self.u32_at(body, 12));
                    let (Some(iface), Some(ts_hi), Some(ts_lo), Some(cap_len)) = fields else {
                        self.pos = at;
                        return self.bad("truncated enhanced packet");
                    };
                    let Some(data) = body.get(20..20 + cap_len as usize) else {
                        self.pos = at;
                        return self.bad("enhanced packet data beyond block");
                    };
                    let Some(i) = self.interfaces.get(iface as usize) else {
                        self.failed = true;
                        return Some(Err(CaptureError::UnknownInterface(iface)));
                    };
                    let timestamp = (u64::from(ts_hi) << 32) | u64::from(ts_lo);
                    return Some(Ok(Frame { link_type: i.link_type, timestamp, data }));
                }
                SPB => {
                    let Some(i) = self.interfaces.first().copied() else {
                        self.failed = true;
                        return Some(Err(CaptureError::UnknownInterface(0)));
                    };
                    let Some(orig_len) = self.u32_at(body, 0) else {
                        self.pos = at;
                        return self.bad("truncated simple packet");
                    };
                    let mut cap = orig_len as usize;
                    if i.snap_len != 0 {
                        cap = cap.min(i.snap_len as usize);
                    }
                    let Some(data) = body.get(4..4 + cap) else {
                        self.pos = at;
                        return self.bad("simple packet data beyond block");
                    };
                    return Some(Ok(Frame { link_type: i.link_type, timestamp: 0, data }));
                }
                _ => {} // SHB handled above; statistics, name resolution, … skipped.
            }
        }
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<Frame<'a>, CaptureError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        self.next_block()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(t: u32, body: &[u8]) -> Vec<u8> {
        let mut body = body.to_vec();
        while !body.len().is_multiple_of(4) {
            body.push(0);
        }
        let len = (body.len() + 12) as u32;
        let mut b = t.to_le_bytes().to_vec();
        b.extend_from_slice(&len.to_le_bytes());
        b.extend_from_slice(&body);
        b.extend_from_slice(&len.to_le_bytes());
        b
    }

    fn shb() -> Vec<u8> {
        let mut body = BYTE_ORDER_MAGIC.to_le_bytes().to_vec();
        body.extend_from_slice(&[1, 0, 0, 0]);
        body.extend_from_slice(&u64::MAX.to_le_bytes());
        block(SHB, &body)
    }

    #[test]
    fn epb_and_spb() {
        let mut f = shb();
        f.extend(block(IDB, &[1, 0, 0, 0, 0, 0, 4, 0]));
        let mut epb = vec![0u8; 20];
        epb[12] = 3; // captured length
        epb.extend_from_slice(&[0xaa, 0xbb, 0xcc]);
        f.extend(block(EPB, &epb));
        f.extend(block(SPB, &[2, 0, 0, 0, 0x11, 0x22]));
        f.extend(block(5, &[0; 8])); // statistics: skipped
        let got: Vec<_> = frames(&f).collect::<Result<_, _>>().unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].data, &[0xaa, 0xbb, 0xcc]);
        assert_eq!(got[0].link_type, 1);
        assert_eq!(got[1].data, &[0x11, 0x22]);
    }

    #[test]
    fn malformed_never_panics() {
        let mut f = shb();
        f.extend(block(IDB, &[1, 0, 0, 0, 0, 0, 4, 0]));
        let mut epb = vec![0u8; 20];
        epb[12] = 200; // captured length beyond the block
        f.extend(block(EPB, &epb));
        assert!(frames(&f).any(|r| r.is_err()));
        for cut in 0..f.len() {
            let _ = frames(&f[..cut]).count();
        }
        assert_eq!(frames(b"not a pcapng file at all").next(), Some(Err(CaptureError::NotPcapng)));
        // Packet on an interface that was never described.
        let mut f = shb();
        f.extend(block(EPB, &[0u8; 20]));
        assert_eq!(frames(&f).next(), Some(Err(CaptureError::UnknownInterface(0))));
    }
}
