//! Writes tests/data/stream-heads.bin: the first bytes of both directions of
//! every TCP connection of every capture given on the command line.
//!
//! cargo run -p spice-proto --features std --example extract_heads -- OUT HEAD_BYTES CAPTURE...
//!
//! Format (little-endian): b"CLOVEHD1", then per connection: u16 name length,
//! name, u16 server port, and for client→server then server→client: u32 full
//! stream length, u32 stored length, stored bytes.

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(out), Some(head)) = (args.next(), args.next()) else {
        eprintln!("usage: extract_heads OUT HEAD_BYTES CAPTURE...");
        std::process::exit(2);
    };
    let head: usize = head.parse().expect("HEAD_BYTES");
    let mut buf = b"CLOVEHD1".to_vec();
    for path in args {
        let name = std::path::Path::new(&path).file_stem().unwrap().to_string_lossy().to_string();
        let file = std::fs::read(&path).expect("read capture");
        for c in spice_proto::capture::reassemble(&file).expect("capture") {
            buf.extend_from_slice(&(name.len() as u16).to_le_bytes());
            buf.extend_from_slice(name.as_bytes());
            buf.extend_from_slice(&c.server_port().to_le_bytes());
            for s in [&c.client_to_server, &c.server_to_client] {
                let n = s.len().min(head);
                buf.extend_from_slice(&(s.len() as u32).to_le_bytes());
                buf.extend_from_slice(&(n as u32).to_le_bytes());
                buf.extend_from_slice(&s[..n]);
            }
        }
    }
    std::fs::write(&out, &buf).expect("write");
    println!("wrote {} bytes to {out}", buf.len());
}
