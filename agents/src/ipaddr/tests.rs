//! Unit tests of the parsing and discovery logic (no host access). The real-parts tests
//! (namespaces, veth, packet capture) are in tests/agents/ipaddr.rs.

use super::*;
use ocf::net::{LinkKind, OperState};
use ocf::testing::{check_declaration, Run};

#[test]
fn declarations_are_sound() {
    check_declaration(&meta::IPADDR2);
    check_declaration(&meta::IPADDR);
}

fn cx() -> Context {
    Context::new(
        &meta::IPADDR2,
        "start",
        &[],
        ocf::Env::default(),
        "/usr/lib/ocf/resource.d/ocfrs/IPaddr2",
        std::time::Instant::now(),
    )
}

fn raw(ip: &str) -> Raw {
    Raw {
        ip: ip.into(),
        arp_interval: 200,
        arp_count: 5,
        lvs_ipv6_addrlabel_value: 99,
        preferred_lft: "forever".into(),
        check_link_status: true,
        ..Raw::default()
    }
}

fn link(index: u32, name: &str) -> Link {
    Link {
        index,
        name: name.into(),
        altnames: vec![],
        admin_up: true,
        lower_up: true,
        oper: OperState::Up,
        kind: LinkKind::Ether,
        mac: vec![2, 0, 0, 0, 0, index as u8],
        noarp: false,
    }
}

fn route(dst: &str, len: u8, oif: u32) -> Route {
    let dst: IpAddr = dst.parse().unwrap();
    Route {
        dst,
        dst_len: len,
        oif: Some(oif),
        gateway: None,
        prefsrc: None,
        table: net::TABLE_MAIN,
        kind: RouteKind::Unicast,
        scope: if dst.is_ipv4() { net::SCOPE_LINK } else { 0 },
        protocol: 2,
        metric: 0,
    }
}

#[test]
fn addresses_parse_like_the_reference() {
    assert!(parse_ip("192.0.2.1").is_ok());
    assert!(parse_ip("2001:db8::1").is_ok());
    for bad in [
        "1.2.3.999",
        "::zz",
        "not_ip_address",
        "0.1.2.3",
        "224.0.0.1",
        "",
        "::",
        "1.2.3",
    ] {
        let e = parse_ip(bad).unwrap_err();
        assert_eq!(e.rc(), ocf::Rc::ErrConfigured, "{bad}");
    }
    assert_eq!(parse_prefix("24", false).unwrap(), 24);
    assert_eq!(parse_prefix("255.255.255.0", false).unwrap(), 24);
    assert_eq!(parse_prefix("128", true).unwrap(), 128);
    for bad in ["33", "0", "not_netmask", "255.0.255.0", "1000", "-1"] {
        assert!(parse_prefix(bad, false).is_err(), "{bad}");
    }
    assert!(parse_prefix("129", true).is_err());
    assert_eq!(parse_broadcast("+").unwrap(), Broadcast::Plus);
    assert!(parse_broadcast("not_broadcast").is_err());
}

#[test]
fn config_refusals_are_6_with_a_reason() {
    let c = cx();
    let cases: Vec<(Raw, &str)> = vec![
        (
            Raw {
                iflabel: "x".repeat(300),
                ..raw("192.0.2.1")
            },
            "exceeds maximum",
        ),
        (
            Raw {
                nic: "eth0".into(),
                iflabel: "abcdefghijk".into(),
                ..raw("192.0.2.1")
            },
            "exceeds maximum",
        ),
        (
            Raw {
                nic: "has space".into(),
                ..raw("192.0.2.1")
            },
            "Invalid interface name",
        ),
        (raw("fe80::1"), "mandatory for a link local"),
        (
            Raw {
                lvs_support: true,
                ..raw("2001:db8::1")
            },
            "lvs_support",
        ),
        (
            Raw {
                lvs_ipv6_addrlabel: true,
                ..raw("192.0.2.1")
            },
            "lvs_ipv6_addrlabel",
        ),
        (
            Raw {
                preferred_lft: "".into(),
                ..raw("2001:db8::1")
            },
            "preferred_lft",
        ),
        (
            Raw {
                arp_sender: "bogus".into(),
                ..raw("192.0.2.1")
            },
            "arp_sender",
        ),
        (
            Raw {
                network_namespace: "../x".into(),
                ..raw("192.0.2.1")
            },
            "network_namespace",
        ),
        (
            Raw {
                proto: "nonsense".into(),
                ..raw("192.0.2.1")
            },
            "proto",
        ),
        (
            Raw {
                unique_clone_address: true,
                ..raw("192.0.2.1")
            },
            "globally_unique",
        ),
    ];
    for (r, reason) in cases {
        let e = Config::build(r.clone(), &c).unwrap_err();
        assert_eq!(e.rc(), ocf::Rc::ErrConfigured, "{r:?}");
        assert!(e.reason().contains(reason), "{} vs {reason}", e.reason());
    }
    let ok = Config::build(
        Raw {
            nic: "eth0:web".into(),
            ..raw("192.0.2.1")
        },
        &c,
    )
    .unwrap();
    assert_eq!(ok.nic.as_deref(), Some("eth0"));
    assert_eq!(ok.full_label("eth0").as_deref(), Some("eth0:web"));
}

#[test]
fn cluster_ip_mode_is_refused_and_unique_clone_address_shifts() {
    let run = Run::agent::<IPaddr2>()
        .param("ip", "192.0.2.10")
        .env("OCF_RESKEY_CRM_meta_clone_max", "3")
        .env("OCF_RESKEY_CRM_meta_clone", "2");
    run.assert_invalid("not supported");
    run.assert_stop_and_probe_safe();
    let env = ocf::Env::default()
        .with("OCF_RESKEY_CRM_meta_clone_max", "3")
        .with("OCF_RESKEY_CRM_meta_clone", "2")
        .with("OCF_RESKEY_CRM_meta_globally_unique", "true");
    let c = Context::new(
        &meta::IPADDR2,
        "start",
        &[],
        env,
        "IPaddr2",
        std::time::Instant::now(),
    );
    let cfg = Config::build(
        Raw {
            unique_clone_address: true,
            ..raw("192.0.2.10")
        },
        &c,
    )
    .unwrap();
    assert_eq!(cfg.ip, "192.0.2.12".parse::<IpAddr>().unwrap());
    let e = Config::build(
        Raw {
            unique_clone_address: true,
            ..raw("192.0.2.254")
        },
        &c,
    )
    .unwrap_err();
    assert!(e.reason().contains("last octet"), "{}", e.reason());
}

#[test]
fn findif_longest_prefix_then_metric() {
    let links = vec![link(1, "lo"), link(2, "eth0"), link(3, "eth1")];
    let mut r16 = route("192.0.0.0", 16, 3);
    r16.metric = 5;
    let routes = vec![
        route("0.0.0.0", 0, 2),
        r16,
        route("192.0.2.0", 24, 2),
        Route {
            metric: 50,
            ..route("192.0.2.0", 24, 3)
        },
        Route {
            kind: RouteKind::Reject,
            ..route("192.0.2.0", 25, 3)
        },
        Route {
            gateway: Some("192.0.0.1".parse().unwrap()),
            scope: 0,
            ..route("192.0.2.0", 26, 3)
        },
    ];
    let c = cx();
    let cfg = Config::build(raw("192.0.2.10"), &c).unwrap();
    let t = find_target(&cfg, &links, &routes, &[]).unwrap();
    assert_eq!((t.link.name.as_str(), t.prefix), ("eth0", 24));
    assert_eq!(t.broadcast, Some("192.0.2.255".parse().unwrap()));
    // nic restricts the candidates.
    let cfg = Config::build(
        Raw {
            nic: "eth1".into(),
            ..raw("192.0.2.10")
        },
        &c,
    )
    .unwrap();
    let t = find_target(&cfg, &links, &routes, &[]).unwrap();
    assert_eq!((t.link.name.as_str(), t.prefix), ("eth1", 24));
    // A netmask wider than every covering route: nothing matches.
    let cfg = Config::build(
        Raw {
            netmask: "8".into(),
            ..raw("192.0.2.10")
        },
        &c,
    )
    .unwrap();
    assert!(matches!(
        find_target(&cfg, &links, &routes, &[]),
        Err(FindError::NoRoute(_))
    ));
    // nic + netmask need no route; broadcast '-' clears host bits; /31 has none by default.
    let cfg = Config::build(
        Raw {
            nic: "eth1".into(),
            netmask: "16".into(),
            broadcast: "-".into(),
            ..raw("198.51.100.7")
        },
        &c,
    )
    .unwrap();
    let t = find_target(&cfg, &links, &[], &[]).unwrap();
    assert_eq!(t.broadcast, Some("198.51.0.0".parse().unwrap()));
    let cfg = Config::build(
        Raw {
            nic: "eth1".into(),
            netmask: "31".into(),
            ..raw("198.51.100.7")
        },
        &c,
    )
    .unwrap();
    assert_eq!(find_target(&cfg, &links, &[], &[]).unwrap().broadcast, None);
    // Unknown nic.
    let cfg = Config::build(
        Raw {
            nic: "nosuch".into(),
            ..raw("192.0.2.10")
        },
        &c,
    )
    .unwrap();
    assert_eq!(
        find_target(&cfg, &links, &routes, &[]),
        Err(FindError::NoSuchNic("nosuch".into()))
    );
    // Loopback falls back to the local table.
    let mut local = route("127.0.0.0", 8, 1);
    local.table = net::TABLE_LOCAL;
    local.kind = RouteKind::Local;
    local.scope = net::SCOPE_HOST;
    let cfg = Config::build(raw("127.0.0.3"), &c).unwrap();
    let t = find_target(&cfg, &links, &[local], &[]).unwrap();
    assert_eq!((t.link.name.as_str(), t.prefix), ("lo", 8));
    // IPv6 has no scope filter and no broadcast.
    let cfg = Config::build(raw("2001:db8::5"), &c).unwrap();
    let t = find_target(&cfg, &links, &[route("2001:db8::", 64, 3)], &[]).unwrap();
    assert_eq!(
        (t.link.name.as_str(), t.prefix, t.broadcast),
        ("eth1", 64, None)
    );
    // No route, but the address is already on an interface (routes of a down link are gone).
    let cfg = Config::build(raw("203.0.113.9"), &c).unwrap();
    let here = Addr {
        index: 3,
        ip: cfg.ip,
        prefix: 27,
        label: None,
        broadcast: None,
        flags: 0,
        scope: 0,
    };
    let t = find_target(&cfg, &links, &routes, std::slice::from_ref(&here)).unwrap();
    assert_eq!((t.link.name.as_str(), t.prefix), ("eth1", 27));
    let cfg = Config::build(
        Raw {
            nic: "eth0".into(),
            ..raw("203.0.113.9")
        },
        &c,
    )
    .unwrap();
    assert!(find_target(&cfg, &links, &routes, std::slice::from_ref(&here)).is_err());
    // proto filter.
    let cfg = Config::build(
        Raw {
            proto: "static".into(),
            ..raw("192.0.2.10")
        },
        &c,
    )
    .unwrap();
    assert!(find_target(&cfg, &links, &routes, &[]).is_err());
}

#[test]
fn served_states() {
    let c = cx();
    let cfg = Config::build(
        Raw {
            iflabel: "web".into(),
            ..raw("192.0.2.10")
        },
        &c,
    )
    .unwrap();
    let t = Target {
        link: link(2, "eth0"),
        prefix: 24,
        broadcast: None,
        metric: None,
    };
    let a = Addr {
        index: 2,
        ip: cfg.ip,
        prefix: 24,
        label: Some("eth0:web".into()),
        broadcast: None,
        flags: 0,
        scope: 0,
    };
    let up = link(2, "eth0");
    assert_eq!(served(&cfg, &t, std::slice::from_ref(&a), &up), Served::Ok);
    // The address as found, changed by `change`.
    let served_as = |change: fn(&mut Addr)| {
        let mut found = a.clone();
        change(&mut found);
        served(&cfg, &t, &[found], &up)
    };
    assert_eq!(served_as(|f| f.prefix = 25), Served::No);
    assert_eq!(served_as(|f| f.index = 3), Served::No);
    assert_eq!(
        served_as(|f| f.label = Some("eth0".into())),
        Served::Label(Some("eth0".into()))
    );
    let down = Link {
        oper: OperState::LowerLayerDown,
        ..up.clone()
    };
    assert_eq!(
        served(&cfg, &t, std::slice::from_ref(&a), &down),
        Served::Down
    );
    let cfg2 = Config {
        check_link_status: false,
        ..cfg.clone()
    };
    assert_eq!(
        served(&cfg2, &t, std::slice::from_ref(&a), &down),
        Served::Ok
    );
}

#[test]
fn legacy_face_maps_names_and_default_nic() {
    // Level 0 (syntax only): the legacy names are parsed and checked; the eth0 default
    // against a real namespace is in tests/agents/ipaddr.rs (legacy_ipaddr_face).
    let r = Run::agent::<legacy::IPaddr>()
        .param("ip", "192.0.2.10")
        .env("OCF_CHECK_LEVEL", "0");
    r.clone()
        .action("validate-all")
        .run()
        .assert_rc(ocf::Rc::Success);
    r.clone()
        .param("ARP_REPEAT", "0")
        .action("validate-all")
        .run()
        .assert_rc(ocf::Rc::ErrConfigured);
    r.clone()
        .param("ARP_BACKGROUND", "maybe")
        .action("validate-all")
        .run()
        .assert_rc(ocf::Rc::ErrConfigured);
    r.clone()
        .param("local_start_script", "relative.sh")
        .action("validate-all")
        .run()
        .assert_rc(ocf::Rc::ErrConfigured)
        .assert_reason_contains("absolute");
    let c = cx();
    let env = ocf::Env::default().with("OCF_RESKEY_ip", "192.0.2.10");
    let params = ocf::Params::new(&meta::IPADDR, &env);
    let cfg = <legacy::IPaddr as ResourceAgent>::configure(&params, &c).unwrap();
    assert_eq!(cfg.nic.as_deref(), Some("eth0"));
    assert_eq!(
        (cfg.arp_count, cfg.arp_interval),
        (10, Duration::from_millis(500))
    );
    assert!(cfg.arp_bg);
}
