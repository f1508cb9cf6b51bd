use super::*;
use crate::net::config::Ipv4Cidr;
use crate::net::server::{Compression, Host};
use alloc::string::ToString;
use core::net::Ipv4Addr;

fn words(text: &str) -> Source<'_> {
    Source { name: "command line", text, form: Form::Words, from_network: false }
}

fn cbfs(text: &str) -> Source<'_> {
    Source { name: "CBFS clove.cfg", text, form: Form::Lines, from_network: false }
}

fn net<'a>(name: &'a str, text: &'a str, form: Form) -> Source<'a> {
    Source { name, text, form, from_network: true }
}

fn errors(c: &Config) -> Vec<String> {
    c.errors.iter().map(ToString::to_string).collect()
}

fn log(c: &Config) -> Vec<String> {
    c.effective.iter().map(ToString::to_string).collect()
}

fn server(c: &Config) -> String {
    c.server.server.as_ref().map(ToString::to_string).unwrap_or_default()
}

#[test]
fn command_line_words_reach_every_owner() {
    let c = Config::merge(&[words(
        "/boot/clove.elf test-exit mode=800x600 log=debug ip=10.0.2.15/24 gw=10.0.2.2 \
         server=spice://10.0.2.2:5930 compression=lz4 vv=tftp://10.0.2.2/clove.vv",
    )]);
    assert_eq!(errors(&c), Vec::<String>::new());
    assert!(c.boot.test_exit);
    assert_eq!(c.boot.mode, Some((800, 600)));
    assert_eq!(c.boot.log, LogLevel::Debug);
    assert_eq!(c.boot.vv.as_ref().unwrap().to_string(), "tftp://10.0.2.2/clove.vv");
    assert_eq!(c.net.ip, Some(Ipv4Cidr { addr: Ipv4Addr::new(10, 0, 2, 15), prefix: 24 }));
    assert_eq!(c.net.gateway, Some(Ipv4Addr::new(10, 0, 2, 2)));
    assert_eq!(server(&c), "spice://10.0.2.2:5930");
    assert_eq!(c.server.compression, Some(Compression::Lz4));
    assert_eq!(log(&c)[0], "test-exit (from command line word 2)");
    assert_eq!(log(&c)[1], "mode=800x600 (from command line word 3)");
    assert_eq!(Config::merge(&[words("")]).boot, BootOptions::default());
    assert!(early_test_exit("/k test-exit") && !early_test_exit("test-exit=1 xtest-exit"));
}

#[test]
fn precedence_command_line_then_cbfs_then_network_then_defaults() {
    let cfg = "# clove.cfg\n\nserver = spice://10.0.0.1:5900\npassword=cbfs secret\ncompression=glz\r\nmode=640x480\n";
    let vv = "[virt-viewer]\ntype=spice\nhost=10.9.9.9\nport=5999\npassword=vv\ntitle=Desk 7\n";
    let c = Config::merge(&[
        words("server=spice://10.0.2.2:5930"),
        cbfs(cfg),
        net("tftp://10.0.2.2/clove.vv", vv, Form::Vv),
    ]);
    assert_eq!(errors(&c), Vec::<String>::new());
    assert_eq!(server(&c), "spice://10.0.2.2:5930");
    // password= from CBFS beats the .vv's; values in a file may hold spaces.
    assert_eq!(c.server.password, "cbfs secret");
    assert_eq!(c.server.compression, Some(Compression::Glz));
    assert_eq!(c.boot.mode, Some((640, 480)));
    assert_eq!(c.boot.title.as_deref(), Some("Desk 7"));
    assert_eq!(c.boot.log, LogLevel::Info, "default");
    assert_eq!(
        log(&c),
        [
            "server=spice://10.0.2.2:5930 (from command line word 1)",
            "password=*** (from CBFS clove.cfg line 4)",
            "title=Desk 7 (from tftp://10.0.2.2/clove.vv line 6)",
            "compression=glz (from CBFS clove.cfg line 5)",
            "mode=640x480 (from CBFS clove.cfg line 6)",
        ]
    );
    // Without the stronger sources, the network's values apply.
    let c = Config::merge(&[words(""), net("tftp://10.0.2.2/clove.vv", vv, Form::Vv)]);
    assert_eq!((server(&c).as_str(), c.server.password.as_str()), ("spice://10.9.9.9:5999", "vv"));
}

#[test]
fn passwords_are_masked_in_the_log() {
    let c = Config::merge(&[words("server=spice://h:1?password=hunter2&x=1"), cbfs("password=also secret")]);
    let l = log(&c).join("\n");
    assert!(!l.contains("hunter2") && !l.contains("also secret"), "{l}");
    assert!(l.contains("server=spice://h:1?password=***&x=1 (from command line word 1)"), "{l}");
    assert!(l.contains("password=*** (from CBFS clove.cfg line 1)"), "{l}");
    assert_eq!(c.server.password, "also secret");
}

#[test]
fn bad_lines_name_source_and_line_and_the_rest_still_applies() {
    let c = Config::merge(&[
        words("sever=spice://h mode=big server=spice://10.0.2.2:5930"),
        cbfs("compression=lz\nlog=loud\nsever=spice://x\nnic\n# fine\nserver=spice://h:0\npassword=x%zz\n"),
    ]);
    assert_eq!(
        errors(&c),
        [
            "command line word 1: unknown key \"sever\"",
            "command line word 2: bad value for mode=: expected WIDTHxHEIGHT, e.g. 1024x768",
            "CBFS clove.cfg line 2: bad value for log=: expected error, info or debug",
            "CBFS clove.cfg line 3: unknown key \"sever\"",
            "CBFS clove.cfg line 4: bad value for nic=: expected a model (e1000, e1000e, virtio, rtl8139) or a PCI address BB:DD.F",
            "CBFS clove.cfg line 6: bad value for server=: the port must be 1 to 65535",
            "CBFS clove.cfg line 7: bad value for password=: bad %XX escape or not UTF-8",
        ]
    );
    assert_eq!(server(&c), "spice://10.0.2.2:5930");
    assert_eq!(c.server.compression, Some(Compression::Lz));
    assert_eq!(c.boot.mode, None);
    // A bad value from the stronger source leaves the weaker one's.
    let c = Config::merge(&[words("mode=0x0 ip=1.2.3.4"), cbfs("mode=800x600\nip=10.0.0.2/8")]);
    assert_eq!(c.boot.mode, Some((800, 600)));
    assert_eq!(c.net.ip.map(|i| i.to_string()).as_deref(), Some("10.0.0.2/8"));
    assert_eq!(errors(&c).len(), 2);
    assert_eq!(errors(&c)[1], "command line word 2: bad value for ip=: expected ADDRESS/PREFIX");
}

#[test]
fn network_sources_set_only_late_keys() {
    let c = Config::merge(&[
        words(""),
        net("http://10.0.2.2/clove.cfg", "ip=1.2.3.4/8\nserver=spice://10.1.1.1\nvv=tftp://1.2.3.4/x\n", Form::Lines),
    ]);
    assert_eq!(server(&c), "spice://10.1.1.1:5900");
    assert_eq!((c.net.ip, c.boot.vv.as_ref()), (None, None));
    let e = errors(&c);
    assert_eq!(
        e[0],
        "http://10.0.2.2/clove.cfg line 1: ip= cannot come from the network (it is needed before the network is up)"
    );
    assert_eq!(e.len(), 2);
}

#[test]
fn sources_that_failed_and_error_floods_are_bounded() {
    let mut c = Config::merge(&[words("server=spice://10.0.2.2")]);
    c.source_failed("tftp://10.0.2.2/clove.vv", "no answer in 10 s");
    assert_eq!(errors(&c), ["tftp://10.0.2.2/clove.vv: no answer in 10 s"]);
    let flood = "x\n".repeat(1000);
    let c = Config::merge(&[cbfs(&flood)]);
    assert_eq!(c.errors.len(), MAX_ERRORS);
    assert_eq!(c.errors[MAX_ERRORS - 1].what, "more configuration errors (not shown)");
    let big = "#".repeat(MAX_SOURCE + 10);
    let c = Config::merge(&[cbfs(&big)]);
    assert_eq!(errors(&c), [alloc::format!("CBFS clove.cfg: longer than {MAX_SOURCE} bytes; the rest is ignored")]);
    let long = alloc::format!("title={}", "t".repeat(MAX_LINE));
    assert_eq!(Config::merge(&[cbfs(&long)]).errors[0].what, alloc::format!("longer than {MAX_LINE} bytes"));
}

#[test]
fn hostile_text_does_not_panic() {
    for t in ["=", "==", "\u{e9}=\u{e9}", "[", "[]", "[virt-viewer", "\r\r\n", "a=b=c", "\0", "test-exit=\u{e9}"] {
        for form in [Form::Words, Form::Lines, Form::Vv] {
            let _ = Config::merge(&[Source { name: "x", text: t, form, from_network: false }]);
        }
    }
    let multi = "\u{e9}".repeat(MAX_SOURCE);
    let _ = Config::merge(&[cbfs(&multi)]);
}

#[test]
fn local_setup_overrides_server_and_password() {
    let c = Config::merge(&[words("server=spice://10.0.2.2:5930?password=url"), cbfs("password=cfg")]);
    let s = Server { host: Host::Name("desk.example.org".into()), port: 5901 };
    let c = c.with_local_setup(Some(s), Some(String::from("typed 100%")));
    assert_eq!(server(&c), "spice://desk.example.org:5901");
    assert_eq!(c.server.password, "typed 100%");
    assert!(log(&c).contains(&String::from("password=*** (from setup screen)")));
    let c = c.with_local_setup(None, None);
    assert_eq!(c.server.password, "typed 100%");
}

#[test]
fn fetched_text_is_told_apart_by_content_then_name() {
    let cfg = FetchUrl::parse("tftp://10.0.2.2/clove.cfg").unwrap();
    let vv = FetchUrl::parse("http://10.0.2.2/console.vv").unwrap();
    assert!(looks_like_vv("\u{feff}\r\n[Virt-Viewer]\ntype=spice", &cfg));
    assert!(!looks_like_vv("server=spice://h", &cfg));
    assert!(looks_like_vv("", &vv));
}

#[test]
fn ovirt_vv_maps_host_port_password_and_title() {
    let text = include_str!("fixtures/ovirt.vv");
    let f = vv::parse(text);
    assert_eq!(f.errors, []);
    assert_eq!(
        f.settings,
        [
            ("server", String::from("spice://192.168.122.10:5912"), 3),
            ("password", String::from("Zq7%25Xw9+Lm2/Pt"), 5),
            ("title", String::from("win10:%d - Press SHIFT+F12 to Release Cursor"), 9),
        ]
    );
    assert_eq!(
        f.unsupported.join(", "),
        "[ovirt], delete-this-file, fullscreen, toggle-fullscreen, release-cursor, secure-attention, \
         enable-smartcard, enable-usb-autoshare, usb-filter, tls-ciphers, host-subject, ca, secure-channels, \
         versions, newer-version-url, tls-port (TLS not supported; using port=5912)"
    );
    let c = Config::merge(&[words(""), net("http://10.0.2.2/ovirt.vv", text, Form::Vv)]);
    assert_eq!(server(&c), "spice://192.168.122.10:5912");
    assert_eq!(c.server.password, "Zq7%Xw9+Lm2/Pt", "a .vv password is literal");
    let e = errors(&c);
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with("http://10.0.2.2/ovirt.vv: not supported, ignored: [ovirt], delete-this-file, "),
        "{}",
        e[0]
    );
}

#[test]
fn proxmox_vv_is_tls_through_a_proxy_and_says_so() {
    let f = vv::parse(include_str!("fixtures/proxmox.vv"));
    assert_eq!(
        f.settings,
        [
            ("password", String::from("a1b2c3d4e5f60718293a4b5c6d7e8f90"), 10),
            ("title", String::from("VM 101 - win10"), 11)
        ]
    );
    assert_eq!(
        f.errors,
        [
            (9, String::from("tls-port=61000 without port=: TLS is not supported")),
            (8, String::from("host=: the host is neither an IPv4 address nor a DNS name")),
        ]
    );
    assert_eq!(
        f.unsupported,
        ["secure-attention", "delete-this-file", "proxy", "toggle-fullscreen", "release-cursor", "host-subject", "ca"]
    );
}

#[test]
fn vv_syntax_and_type_problems() {
    let f = vv::parse("host=x\n[virt-viewer]\ntype=vnc\nhost=10.0.0.1\nport=5900\n");
    assert_eq!(
        f.errors,
        [(1, String::from("key=value before any [section]")), (3, String::from("type=vnc: only spice is supported"))]
    );
    assert_eq!(f.settings, []);
    let f = vv::parse("[other]\ntype=spice\n");
    assert_eq!(f.errors, [(0, String::from("no [virt-viewer] section"))]);
    let f = vv::parse("[virt-viewer]\ntype=spice\nhost=10.0.0.1\nport=99999\n[broken\nnonsense\n");
    assert_eq!(
        f.errors,
        [
            (5, String::from("expected [SECTION]")),
            (6, String::from("expected key=value")),
            (4, String::from("port=99999: expected 1 to 65535")),
        ]
    );
    let f = vv::parse("[virt-viewer]\r\n; comment\r\ntype = spice\r\nhost = 10.0.0.1\r\nport = 5900\r\nport=5901\r\n");
    assert_eq!((f.errors.len(), f.settings[0].1.as_str()), (0, "spice://10.0.0.1:5901"));
    let many: String = (0..100).map(|i| alloc::format!("k{i}=v\n")).collect();
    let f = vv::parse(&alloc::format!("[virt-viewer]\ntype=spice\nhost=h\nport=1\n{many}"));
    assert_eq!(f.errors.len(), 100 - (64 - 3));
    assert_eq!(f.unsupported.len(), 61);
}
