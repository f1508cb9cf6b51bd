//! Where Clove's configuration comes from (see `drivers::config` for the
//! keys and the merge): the kernel command line, coreboot's CBFS
//! `clove.cfg`, and a file from the network once there is an address. Each
//! merge logs the effective values with their origin and every error.

use super::console::Console;
use super::fetch;
use super::net::Net;
use alloc::string::String;
use alloc::vec::Vec;
use drivers::config::{looks_like_vv, Config, Form, Source};
use drivers::net::url::FetchUrl;

/// The sources known before the network.
pub struct Sources<'a> {
    pub cmdline: &'a str,
    pub cbfs: Option<&'a str>,
}

/// The file from the network: its URL (the source's name) and its text,
/// or why it could not be had.
pub struct NetworkFile {
    pub name: String,
    pub text: Result<(String, Form), String>,
}

impl Sources<'_> {
    /// Merges, strongest first, and logs the outcome.
    pub fn merge(&self, con: &mut Console, network: Option<&NetworkFile>) -> Config {
        let mut list = Vec::new();
        list.push(Source { name: "command line", text: self.cmdline, form: Form::Words, from_network: false });
        if let Some(text) = self.cbfs {
            list.push(Source { name: "CBFS clove.cfg", text, form: Form::Lines, from_network: false });
        }
        if let Some(NetworkFile { name, text: Ok((text, form)) }) = network {
            list.push(Source { name, text, form: *form, from_network: true });
        }
        let mut c = Config::merge(&list);
        if let Some(NetworkFile { name, text: Err(why) }) = network {
            c.source_failed(name, why);
        }
        // The level first, so the lines below follow it.
        con.set_level(c.boot.log);
        for e in &c.effective {
            con.log(format_args!("config: {e}"));
        }
        for e in &c.errors {
            con.error(format_args!("config: error: {e}"));
        }
        c
    }
}

/// The file to fetch: `vv=`, else what DHCP offered; `None` when neither
/// names one.
pub fn network_url(config: &Config, net: &Net) -> Option<Result<FetchUrl, (String, &'static str)>> {
    if let Some(u) = &config.boot.vv {
        return Some(Ok(u.clone()));
    }
    let (hints, server) = net.boot_hints.as_ref()?;
    let r = hints.config_url(*server)?;
    Some(r.map_err(|why| (alloc::format!("DHCP boot file {:?}", hints.boot_file.as_deref().unwrap_or("")), why)))
}

/// Fetches the network's file (logging what happens), if there is one.
pub fn fetch_network_file(con: &mut Console, config: &Config, net: &mut Net) -> Option<NetworkFile> {
    let url = match network_url(config, net)? {
        Ok(u) => u,
        Err((name, why)) => return Some(NetworkFile { name, text: Err(String::from(why)) }),
    };
    let name = alloc::format!("{url}");
    con.log(format_args!("config: fetching {name}"));
    let start = net.millis();
    let text = fetch::fetch(con, net, &url).and_then(|bytes| {
        let n = bytes.len();
        let text = String::from_utf8(bytes).map_err(|_| String::from("not UTF-8 text"))?;
        let form = if looks_like_vv(&text, &url) { Form::Vv } else { Form::Lines };
        con.log(format_args!(
            "config: got {name}: {n} bytes in {} ms ({})",
            net.millis() - start,
            if form == Form::Vv { "a virt-viewer file" } else { "a clove.cfg" }
        ));
        Ok((text, form))
    });
    Some(NetworkFile { name, text })
}
