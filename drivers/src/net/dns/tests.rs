use super::*;

const ID: u16 = 0x4a7c;

/// A response to `build_query(ID, qname)` with these answer records (each
/// already encoded) and these flags.
fn response(qname: &str, flags: u16, records: &[Vec<u8>]) -> Vec<u8> {
    let mut m = build_query(ID, qname).unwrap();
    m[2..4].copy_from_slice(&flags.to_be_bytes());
    m[6..8].copy_from_slice(&(records.len() as u16).to_be_bytes());
    for r in records {
        m.extend_from_slice(r);
    }
    m
}

fn record(owner: &[u8], rtype: u16, data: &[u8]) -> Vec<u8> {
    let mut r = owner.to_vec();
    r.extend_from_slice(&rtype.to_be_bytes());
    r.extend_from_slice(&CLASS_IN.to_be_bytes());
    r.extend_from_slice(&300u32.to_be_bytes());
    r.extend_from_slice(&(data.len() as u16).to_be_bytes());
    r.extend_from_slice(data);
    r
}

fn wire(name: &str) -> Vec<u8> {
    let mut v = Vec::new();
    encode_name(name, &mut v).unwrap();
    v
}

/// A pointer to the question's name (right after the header).
const QNAME_PTR: [u8; 2] = [0xC0, 12];
const OK: u16 = FLAG_QR | FLAG_RD | 0x0080;

#[test]
fn query_bytes_are_a_standard_a_query() {
    let q = build_query(0x1234, "spice-test.clove").unwrap();
    let mut want = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    want.extend_from_slice(b"\x0aspice-test\x05clove\x00\x00\x01\x00\x01");
    assert_eq!(q, want);
    // A trailing dot is the same name.
    assert_eq!(build_query(0x1234, "spice-test.clove.").unwrap(), want);
}

#[test]
fn bad_names_are_refused() {
    let long_label = "a".repeat(64);
    let long_name = ["abcdefghi"; 26].join("."); // 259 bytes
    for n in ["", ".", "a..b", ".a", "a b", "a/b", "é.com", long_label.as_str(), long_name.as_str()] {
        assert_eq!(build_query(1, n), Err(DnsError::BadName), "{n:?}");
    }
    assert!(build_query(1, &"a".repeat(63)).is_ok());
}

#[test]
fn answer_with_a_compressed_owner() {
    let m = response("Spice-Test.clove", OK, &[record(&QNAME_PTR, TYPE_A, &[10, 0, 2, 2])]);
    assert_eq!(parse_response(ID, "spice-test.clove", &m), Ok(Ipv4Addr::new(10, 0, 2, 2)));
}

#[test]
fn cname_chains_are_followed_inside_the_answer() {
    // www.example -> web.example -> host.example = 192.0.2.7, out of order,
    // with an unrelated A record first.
    let web = wire("web.example");
    let m = response(
        "www.example",
        OK,
        &[
            record(&wire("other.example"), TYPE_A, &[192, 0, 2, 99]),
            record(&web, TYPE_CNAME, &wire("HOST.example")),
            record(&QNAME_PTR, TYPE_CNAME, &web),
            record(&wire("host.example"), TYPE_A, &[192, 0, 2, 7]),
        ],
    );
    assert_eq!(parse_response(ID, "www.example", &m), Ok(Ipv4Addr::new(192, 0, 2, 7)));
    // A CNAME whose target has no address here.
    let m = response("www.example", OK, &[record(&QNAME_PTR, TYPE_CNAME, &web)]);
    assert_eq!(parse_response(ID, "www.example", &m), Err(DnsError::NoAddress));
    // A loop is bounded.
    let a = wire("a.example");
    let m = response(
        "www.example",
        OK,
        &[record(&QNAME_PTR, TYPE_CNAME, &a), record(&a, TYPE_CNAME, &wire("www.example"))],
    );
    assert!(matches!(parse_response(ID, "www.example", &m), Err(DnsError::Malformed(_))));
}

#[test]
fn header_checks() {
    let a = [record(&QNAME_PTR, TYPE_A, &[10, 0, 2, 2])];
    let m = response("x.test", OK, &a);
    assert_eq!(parse_response(ID + 1, "x.test", &m), Err(DnsError::NotOurs("another ID")));
    assert!(matches!(parse_response(ID, "y.test", &m), Err(DnsError::NotOurs(_))));
    let m = response("x.test", OK & !FLAG_QR, &a);
    assert!(matches!(parse_response(ID, "x.test", &m), Err(DnsError::NotOurs(_))));
    let m = response("x.test", OK | RCODE_NXDOMAIN, &[]);
    assert_eq!(parse_response(ID, "x.test", &m), Err(DnsError::NoSuchName));
    let m = response("x.test", OK | 2, &[]);
    assert_eq!(parse_response(ID, "x.test", &m), Err(DnsError::ServerError(2)));
    let m = response("x.test", OK | FLAG_TC, &a);
    assert_eq!(parse_response(ID, "x.test", &m), Err(DnsError::Truncated));
    let m = response("x.test", OK, &[]);
    assert_eq!(parse_response(ID, "x.test", &m), Err(DnsError::NoAddress));
    // The question must be for an A record.
    let mut m = response("x.test", OK, &a);
    m[12 + wire("x.test").len() + 1] = 28; // AAAA
    assert!(matches!(parse_response(ID, "x.test", &m), Err(DnsError::NotOurs(_))));
}

#[test]
fn malformed_answers_are_errors() {
    let good = response("x.test", OK, &[record(&QNAME_PTR, TYPE_A, &[10, 0, 2, 2])]);
    // Every truncation fails cleanly.
    for n in 0..good.len() {
        assert!(parse_response(ID, "x.test", &good[..n]).is_err(), "{n} bytes");
    }
    // A pointer to itself, and one pointing forward.
    let m = response("x.test", OK, &[record(&[0xC0, 0], TYPE_A, &[1, 2, 3, 4])]);
    let self_ptr = {
        let mut m = m.clone();
        let at = good.len() - 16;
        m[at..at + 2].copy_from_slice(&[0xC0 | (at >> 8) as u8, at as u8]);
        m
    };
    assert!(matches!(parse_response(ID, "x.test", &self_ptr), Err(DnsError::Malformed(_))));
    let mut fwd = m.clone();
    let at = good.len() - 16;
    fwd[at..at + 2].copy_from_slice(&[0xC0, 0xFF]);
    assert!(matches!(parse_response(ID, "x.test", &fwd), Err(DnsError::Malformed(_))));
    // An A record of 5 bytes, an extended label type, and a record count
    // beyond the data.
    let m = response("x.test", OK, &[record(&QNAME_PTR, TYPE_A, &[1, 2, 3, 4, 5])]);
    assert!(matches!(parse_response(ID, "x.test", &m), Err(DnsError::Malformed(_))));
    let m = response("x.test", OK, &[record(&[0x40, 0], TYPE_A, &[1, 2, 3, 4])]);
    assert!(matches!(parse_response(ID, "x.test", &m), Err(DnsError::Malformed(_))));
    let mut m = good.clone();
    m[7] = 2;
    assert!(matches!(parse_response(ID, "x.test", &m), Err(DnsError::Malformed(_))));
}

/// xorshift64*: reproducible "random" bytes without a crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn fuzz_random_and_mutated_messages_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let web = wire("web.example");
    let seed =
        response("www.example", OK, &[record(&QNAME_PTR, TYPE_CNAME, &web), record(&web, TYPE_A, &[192, 0, 2, 7])]);
    assert!(parse_response(ID, "www.example", &seed).is_ok());
    let mut ok = 0;
    for i in 0..200_000 {
        let msg = if i % 4 == 0 {
            // Pure noise with a plausible header.
            let mut m: Vec<u8> = (0..rng.below(600)).map(|_| rng.next() as u8).collect();
            if m.len() >= 4 {
                m[..2].copy_from_slice(&ID.to_be_bytes());
                m[2] |= 0x80;
            }
            m
        } else {
            // The good answer with a few flipped bytes, maybe cut short.
            let mut m = seed.clone();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(m.len());
                m[at] = rng.next() as u8;
            }
            if rng.below(3) == 0 {
                m.truncate(rng.below(m.len() + 1));
            }
            m
        };
        if parse_response(ID, "www.example", &msg).is_ok() {
            ok += 1;
        }
    }
    // Mutations in the TTL and the unused fields still parse.
    assert!(ok > 0);
}

#[test]
fn query_resends_then_times_out() {
    let mut q = Query::new("x.test", ID, 5_000).unwrap();
    let sent = |q: &mut Query, t: u64| matches!(q.poll(t), Ok(Action::Send(_)));
    assert!(sent(&mut q, 5_000));
    assert!(!sent(&mut q, 5_000));
    assert!(!sent(&mut q, 5_999));
    assert!(sent(&mut q, 6_000));
    assert!(!sent(&mut q, 7_999));
    assert!(sent(&mut q, 8_000));
    assert!(sent(&mut q, 12_000));
    assert!(!sent(&mut q, 14_999));
    assert_eq!(q.sends(), 4);
    assert_eq!(q.poll(15_000), Err(DnsError::Timeout { last: None }));
}

#[test]
fn query_ignores_strays_and_takes_its_answer() {
    let mut q = Query::new("x.test", ID, 0).unwrap();
    let Ok(Action::Send(p)) = q.poll(0) else { panic!("nothing sent") };
    assert_eq!(p, build_query(ID, "x.test").unwrap());
    let mut stray = response("x.test", OK, &[record(&QNAME_PTR, TYPE_A, &[6, 6, 6, 6])]);
    stray[1] ^= 1;
    assert_eq!(q.receive(&stray), None);
    assert_eq!(q.receive(&[1, 2, 3]), None);
    assert_eq!(q.poll(TIMEOUT_MS), Err(DnsError::Timeout { last: Some("no header") }));
    let good = response("x.test", OK, &[record(&QNAME_PTR, TYPE_A, &[10, 0, 2, 2])]);
    assert_eq!(q.receive(&good), Some(Ok(Ipv4Addr::new(10, 0, 2, 2))));
    let nx = response("x.test", OK | RCODE_NXDOMAIN, &[]);
    assert_eq!(q.receive(&nx), Some(Err(DnsError::NoSuchName)));
    assert_eq!(
        DnsError::Timeout { last: Some("another ID") }.to_string(),
        "no usable answer in 10 s (last one: another ID)"
    );
}
