//! Ticket encryption: encrypt with a known public key, decrypt with the
//! private key (rsa crate, and openssl when installed).

mod common;

use rsa::pkcs8::DecodePrivateKey;
use rsa::{Oaep, RsaPrivateKey};
use sha1::Sha1;
use spice_proto::auth::{encrypt_ticket, AuthError, Entropy};

const PUB_DER: &[u8] = include_bytes!("data/ticket-key.pub.der");
const PRIV_PEM: &str = include_str!("data/ticket-key.pem");

struct TestEntropy(common::XorShift);
impl Entropy for TestEntropy {
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = self.0.next() as u8;
        }
    }
}

fn decrypt(ct: &[u8]) -> Vec<u8> {
    let key = RsaPrivateKey::from_pkcs8_pem(PRIV_PEM).unwrap();
    key.decrypt(Oaep::new::<Sha1>(), ct).unwrap()
}

#[test]
fn ticket_decrypts_to_password_and_nul() {
    assert_eq!(PUB_DER.len(), spice_proto::consts::TICKET_PUBKEY_BYTES);
    let mut e = TestEntropy(common::XorShift(0x1234_5678_9abc_def1));
    for pw in [&b"clove-secret"[..], b"", &[b'x'; 60]] {
        let ct = encrypt_ticket(PUB_DER, pw, &mut e).unwrap();
        let mut want = pw.to_vec();
        want.push(0);
        assert_eq!(decrypt(&ct), want);
    }
    // OAEP is randomised: two tickets for the same password differ.
    let a = encrypt_ticket(PUB_DER, b"pw", &mut e).unwrap();
    let b = encrypt_ticket(PUB_DER, b"pw", &mut e).unwrap();
    assert_ne!(a, b);
}

#[test]
fn ticket_decrypts_with_openssl() {
    // openssl is in the xtask's dependency table, so it is always there.
    let mut e = TestEntropy(common::XorShift(42));
    let ct = encrypt_ticket(PUB_DER, b"clove-secret", &mut e).unwrap();
    let dir = std::env::temp_dir().join(format!("spice-proto-auth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ct_path = dir.join("ticket.bin");
    std::fs::write(&ct_path, ct).unwrap();
    let key = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/ticket-key.pem");
    let out = std::process::Command::new("openssl")
        .args(["pkeyutl", "-decrypt", "-inkey", key, "-pkeyopt", "rsa_padding_mode:oaep"])
        .args(["-pkeyopt", "rsa_oaep_md:sha1", "-pkeyopt", "rsa_mgf1_md:sha1", "-in"])
        .arg(&ct_path)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert!(out.status.success(), "openssl: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.stdout, b"clove-secret\0");
}

#[test]
fn ticket_errors() {
    let mut e = TestEntropy(common::XorShift(7));
    assert_eq!(encrypt_ticket(PUB_DER, &[b'x'; 61], &mut e), Err(AuthError::PasswordTooLong(61)));
    assert_eq!(encrypt_ticket(PUB_DER, b"a\0b", &mut e), Err(AuthError::PasswordHasNul));
    assert_eq!(encrypt_ticket(&PUB_DER[..100], b"a", &mut e), Err(AuthError::BadPublicKey));
    assert_eq!(encrypt_ticket(&[0u8; 162], b"a", &mut e), Err(AuthError::BadPublicKey));
    let big = include_bytes!("data/rsa2048.pub.der");
    assert_eq!(encrypt_ticket(big, b"a", &mut e), Err(AuthError::KeySize(2048)));
    assert!(AuthError::KeySize(2048).to_string().contains("2048"));
}
