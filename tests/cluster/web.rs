//! Scenario: the Web service group. A floating address and an apache web server in one group
//! (address first); a client fetches a page through the floating address before and after
//! the active node crashes, and after the admin moves the group back.
//!
//! Fencing: relies on `stonith-enabled=false` (nothing shared to protect: each node serves
//! its own copy of the site); a crash here kills every process of the node, apache included,
//! which is what fencing would have guaranteed.
//!
//! Agents: `ocf:ocfrs:IPaddr2` (or Debian's with `OCFRS_SCENARIO_IP_PROVIDER=heartbeat`) and
//! `ocf:ocfrs:apache`. The configuration is what docs/scenarios.md ("Web service group")
//! shows: apache listens on the floating address only, its run directory comes from an
//! envfile (per node, under the node's private /run), each node serves a page naming itself.
use super::floating_ip::{sticky_group_moved_back, wait_vip_on, IP_PROVIDER_VAR};
use super::harness::*;
use super::policy_common::{now, span};

const VIP: &str = "192.0.2.102";
const PORT: u16 = 18092;
/// Host directory shared by the nodes (they share /tmp).
const SITE: &str = "/tmp/ocfapache-web";
const MEMBERS: [&str; 2] = ["ip", "web"];

/// The site: a configuration for every node, an envfile and one page per node.
fn write_site(nodes: usize) -> (String, String) {
    let _ = std::fs::remove_dir_all(SITE);
    for i in 1..=nodes {
        let docs = format!("{SITE}/htdocs/{}", name(i));
        std::fs::create_dir_all(&docs).expect("site dir");
        std::fs::write(
            format!("{docs}/index.html"),
            format!("<html><body>served by {}</body></html>\n", name(i)),
        )
        .expect("page");
    }
    let m = "/usr/lib/apache2/modules";
    let conf = format!("{SITE}/httpd.conf");
    std::fs::write(
        &conf,
        format!(
            "ServerRoot \"{SITE}\"\nServerName web.example\nListen {VIP}:{PORT}\n\
             DefaultRuntimeDir ${{APACHE_RUN_DIR}}\nMutex file:${{APACHE_RUN_DIR}} default\n\
             ErrorLog ${{APACHE_RUN_DIR}}/error.log\nLogLevel warn\nUser www-data\nGroup www-data\n\
             LoadModule mpm_prefork_module {m}/mod_mpm_prefork.so\n\
             LoadModule authz_core_module {m}/mod_authz_core.so\n\
             LoadModule authz_host_module {m}/mod_authz_host.so\n\
             LoadModule dir_module {m}/mod_dir.so\nLoadModule status_module {m}/mod_status.so\n\
             StartServers 2\nDocumentRoot \"{SITE}/htdocs/${{WEB_NODE}}\"\nDirectoryIndex index.html\n\
             <Directory \"{SITE}/htdocs\">\n  Require all granted\n</Directory>\n\
             <Location /server-status>\n  SetHandler server-status\n  Require local\n</Location>\n"
        ),
    )
    .expect("config");
    // Sourced by the agent on each node: the node's own name and run directory.
    let env = format!("{SITE}/envvars");
    std::fs::write(
        &env,
        "export WEB_NODE=$(uname -n)\nexport APACHE_RUN_DIR=/run/ocfapache-web\n",
    )
    .expect("envvars");
    (conf, env)
}

/// The page the client gets through the floating address, if any.
fn client_fetch() -> Option<String> {
    client_curl(&[&format!("http://{VIP}:{PORT}/")])
}

fn wait_served_by(c: &Cluster, i: usize) {
    let want = format!("served by {}", name(i));
    c.wait_for(
        &format!("client gets \"{want}\" from {VIP}:{PORT}"),
        WAIT,
        |_| Some(client_fetch().is_some_and(|b| b.contains(&want))),
    );
}

/// On node `i` after `t`: ip started before web (start order), or web stopped before ip.
fn assert_order(c: &Cluster, i: usize, action: &str, t: f64) {
    let ip = span(c, i, MEMBERS[0], action, t);
    let web = span(c, i, MEMBERS[1], action, t);
    let ok = if action == "start" {
        web.0 >= ip.1
    } else {
        ip.0 >= web.1
    };
    assert!(
        ok,
        "{action} order on {}: ip {ip:?}, web {web:?}\n{}",
        name(i),
        c.report()
    );
}

#[test]
#[cfg_attr(
    not(feature = "root-tests"),
    ignore = "needs root, pacemaker, apache2, namespaces"
)]
fn web_group_serves_through_the_floating_address_across_a_crash() {
    let ip_prov = provider(IP_PROVIDER_VAR, "IPaddr2");
    let web_prov = provider("OCFRS_SCENARIO_WEB_PROVIDER", "apache");
    let mut c = Cluster::up(2);
    let (conf, env) = write_site(2);
    let group = sticky_group(
        "g",
        &[
            ipaddr2_primitive("ip", &ip_prov, VIP, &[("monitor", "5s", "20s", "")]),
            primitive(
                "web",
                &format!("ocf:{web_prov}:apache"),
                &[
                    ("configfile", &conf),
                    ("envfiles", &env),
                    ("httpd", "/usr/sbin/apache2"),
                ],
                &[],
                &[
                    ("start", "0", "40s", ""),
                    ("stop", "0", "60s", ""),
                    ("monitor", "5s", "20s", ""),
                ],
            ),
        ],
    );
    let t0 = now();
    c.cib_create("resources", &group);
    c.cib_create("constraints", &prefer("g", "n1", "50"));

    // 1. Starts on n1, address first; the client gets n1's page.
    c.wait_running_on("web", "n1");
    wait_vip_on(&c, "ip", VIP, 1);
    wait_served_by(&c, 1);
    assert_order(&c, 1, "start", t0);

    // 2. n1 crashes: the group moves to n2; the client gets n2's page at the same address.
    let t1 = now();
    c.crash(1);
    c.wait_running_on("web", "n2");
    wait_vip_on(&c, "ip", VIP, 2);
    wait_served_by(&c, 2);
    assert_order(&c, 2, "start", t1);
    log(format!(
        "failover: {:.1}s from crash to n2 serving",
        now() - t1
    ));

    // 3. n1 comes back; stickiness keeps the group on n2; the admin moves it back: apache
    // stops before the address on n2, the address starts before apache on n1.
    let t2 = sticky_group_moved_back(&mut c, "web", VIP);
    wait_served_by(&c, 1);
    assert_order(&c, 2, "stop", t2);
    assert_order(&c, 1, "start", t2);

    // 4. Stopping the group: apache first, then the address; nothing answers.
    let t3 = now();
    c.meta("g", "target-role", "Stopped");
    c.wait_stopped("web");
    c.wait_stopped("ip");
    assert_order(&c, 1, "stop", t3);
    assert!(client_fetch().is_none(), "still answering after stop");
    let _ = std::fs::remove_dir_all(SITE);
}
