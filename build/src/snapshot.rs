//! `snapshot`: connect to a SPICE server, wait for the first complete frame
//! (the display's MARK), optionally let it settle, and write a PNG.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use spice_proto::msg::display::image_compression as ic;
use spice_proto::session::{Event, SessionConfig};

use crate::client::{primary_rgb, Client, ClientError, SpiceUrl};

/// What to do.
#[derive(Clone, Debug)]
pub struct Options {
    /// The server.
    pub url: SpiceUrl,
    /// Ticket password.
    pub password: String,
    /// Where to write the PNG.
    pub png: PathBuf,
    /// Keep receiving this long after the first frame.
    pub settle: Duration,
    /// PREFERRED_COMPRESSION to send.
    pub compression: Option<u8>,
    /// Give up after this long.
    pub timeout: Duration,
}

pub const USAGE: &str = "snapshot spice://HOST[:PORT] --png OUT.png [--password P] [--settle MS] \
[--compression off|auto_glz|auto_lz|quic|glz|lz|lz4] [--timeout MS]";

/// SPICE_IMAGE_COMPRESSION_* by name.
pub fn compression(name: &str) -> Option<u8> {
    Some(match name {
        "off" => ic::OFF,
        "auto_glz" => ic::AUTO_GLZ,
        "auto_lz" => ic::AUTO_LZ,
        "quic" => ic::QUIC,
        "glz" => ic::GLZ,
        "lz" => ic::LZ,
        "lz4" => ic::LZ4,
        _ => return None,
    })
}

/// Parses the command-line words after `snapshot`.
pub fn parse(args: &[String]) -> Result<Options, String> {
    let mut url = None;
    let mut o = Options {
        url: SpiceUrl { host: String::new(), port: 0 },
        password: String::new(),
        png: PathBuf::new(),
        settle: Duration::ZERO,
        compression: None,
        timeout: Duration::from_secs(30),
    };
    let mut it = args.iter();
    let ms = |v: Option<&String>, flag: &str| -> Result<Duration, String> {
        let v = v.ok_or(format!("{flag} needs a value"))?;
        v.parse().map(Duration::from_millis).map_err(|_| format!("{flag}: bad number {v:?}"))
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "--png" => o.png = it.next().ok_or("--png needs a path")?.into(),
            "--password" => o.password = it.next().ok_or("--password needs a value")?.clone(),
            "--settle" => o.settle = ms(it.next(), "--settle")?,
            "--timeout" => o.timeout = ms(it.next(), "--timeout")?,
            "--compression" => {
                let v = it.next().ok_or("--compression needs a value")?;
                o.compression = Some(compression(v).ok_or(format!("unknown compression {v:?}"))?);
            }
            s if url.is_none() && !s.starts_with("--") => url = Some(SpiceUrl::parse(s)?),
            other => return Err(format!("unexpected argument {other:?}")),
        }
    }
    o.url = url.ok_or("no server URL")?;
    if o.png.as_os_str().is_empty() {
        return Err("--png is required".into());
    }
    Ok(o)
}

/// What a snapshot saw.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Frame width and height.
    pub size: (u32, u32),
    /// Images decoded by type.
    pub images: Vec<(spice_proto::consts::ImageType, u64)>,
}

/// Connects, waits for the first frame (and `settle`), writes the PNG.
pub fn run(o: &Options) -> Result<Outcome, ClientError> {
    let mut config = SessionConfig { password: o.password.clone(), inputs: false, cursor: false, ..Default::default() };
    config.display.preferred_compression = o.compression;
    let mut client = Client::new(o.url.clone(), config)?;
    let mut problems = Vec::new();
    client.run_until(o.timeout, "the first complete frame (MARK)", |e| match e {
        Event::Mark => true,
        Event::DrawError(why) => {
            problems.push(why.clone());
            false
        }
        _ => false,
    })?;
    if !o.settle.is_zero() {
        let end = Instant::now() + o.settle;
        let _ = client.run_until(o.settle, "settle", |_| Instant::now() > end);
    }
    if let Some(first) = problems.first() {
        return Err(ClientError::Io(format!("{} draw commands failed; first: {first}", problems.len())));
    }
    let (w, h, rgb) = primary_rgb(&client.session).ok_or(ClientError::Timeout("a primary surface"))?;
    write_png(&o.png, w, h, &rgb).map_err(|e| ClientError::Io(format!("{}: {e}", o.png.display())))?;
    Ok(Outcome { size: (w, h), images: client.session.images_decoded() })
}

/// Writes 8-bit RGB rows as a PNG.
pub fn write_png(path: &std::path::Path, w: u32, h: u32, rgb: &[u8]) -> Result<(), String> {
    let file = std::fs::File::create(path).map_err(|e| e.to_string())?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    // Fast settings: the PNG is for comparison, not archiving.
    enc.set_compression(png::Compression::Fast);
    let mut writer = enc.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(rgb).map_err(|e| e.to_string())
}

/// The `snapshot` command (also the `clove-snapshot` binary).
pub fn main(args: &[String]) -> i32 {
    let o = match parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("snapshot: {e}\nusage: {USAGE}");
            return 2;
        }
    };
    match run(&o) {
        Ok(Outcome { size: (w, h), images }) => {
            println!("{}: {w}x{h}, images {images:?}", o.png.display());
            0
        }
        Err(e) => {
            eprintln!("snapshot: {e}");
            1
        }
    }
}
