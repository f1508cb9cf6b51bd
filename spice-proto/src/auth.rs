//! The SPICE ticket: RSA-OAEP (SHA-1, MGF1-SHA-1) of the password plus a
//! terminating NUL, under the 1024-bit key from the link reply.
//!
//! The server decrypts a ticket even with ticketing disabled, so a client
//! always sends one (of the empty password if it has none). Randomness comes
//! from the caller through [`Entropy`]; this crate never seeds anything.

use core::fmt;

use rsa::pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;
use rsa::{Oaep, RsaPublicKey};
use sha1::Sha1;

use crate::consts::{ENCRYPTED_TICKET_BYTES, MAX_PASSWORD_LENGTH};

/// A source of cryptographically strong random bytes (RDRAND, a seeded
/// DRBG, the OS…), supplied by the platform.
pub trait Entropy {
    /// Fills `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]);
}

/// Adapts an [`Entropy`] to the `rand_core` 0.6 traits the `rsa` crate needs.
struct EntropyRng<'a, E: Entropy + ?Sized>(&'a mut E);

impl<E: Entropy + ?Sized> rand_core::RngCore for EntropyRng<'_, E> {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.0.fill(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.0.fill(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill(dest)
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.0.fill(dest);
        Ok(())
    }
}

impl<E: Entropy + ?Sized> rand_core::CryptoRng for EntropyRng<'_, E> {}

/// Why a ticket could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthError {
    /// The password is longer than 60 bytes.
    PasswordTooLong(usize),
    /// The password contains a NUL byte, which would end it early.
    PasswordHasNul,
    /// The link reply's key is not a DER SubjectPublicKeyInfo RSA key.
    BadPublicKey,
    /// The key is not 1024 bits, so the ticket would not be 128 bytes.
    KeySize(usize),
    /// The RSA operation failed.
    Encrypt,
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::PasswordTooLong(n) => {
                write!(f, "password is {n} bytes, the limit is {MAX_PASSWORD_LENGTH}")
            }
            AuthError::PasswordHasNul => f.write_str("password contains a NUL byte"),
            AuthError::BadPublicKey => f.write_str("server ticket key is not a valid RSA public key"),
            AuthError::KeySize(bits) => write!(f, "server ticket key has {bits} bits, expected 1024"),
            AuthError::Encrypt => f.write_str("RSA-OAEP encryption failed"),
        }
    }
}

/// Encrypts `password` (≤ 60 bytes, no NUL) for the server whose link reply
/// carried `pub_key_der`, giving the 128 bytes the client sends.
pub fn encrypt_ticket(
    pub_key_der: &[u8],
    password: &[u8],
    entropy: &mut dyn Entropy,
) -> Result<[u8; ENCRYPTED_TICKET_BYTES], AuthError> {
    if password.len() > MAX_PASSWORD_LENGTH {
        return Err(AuthError::PasswordTooLong(password.len()));
    }
    if password.contains(&0) {
        return Err(AuthError::PasswordHasNul);
    }
    let key = RsaPublicKey::from_public_key_der(pub_key_der).map_err(|_| AuthError::BadPublicKey)?;
    if key.size() != ENCRYPTED_TICKET_BYTES {
        return Err(AuthError::KeySize(key.size() * 8));
    }
    let mut plain = [0u8; MAX_PASSWORD_LENGTH + 1];
    plain[..password.len()].copy_from_slice(password);
    let plain = &plain[..password.len() + 1]; // with the NUL
    let mut rng = EntropyRng(entropy);
    let ct = key.encrypt(&mut rng, Oaep::new::<Sha1>(), plain).map_err(|_| AuthError::Encrypt)?;
    let mut out = [0u8; ENCRYPTED_TICKET_BYTES];
    if ct.len() != out.len() {
        return Err(AuthError::Encrypt);
    }
    out.copy_from_slice(&ct);
    Ok(out)
}
