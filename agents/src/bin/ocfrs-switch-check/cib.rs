//! The primitives of a CIB, as the check needs them: id, agent, instance attributes, meta
//! attributes (the primitive's and its clone's), operations.

use crate::xml::{self, Elem as Element};

/// One `<primitive>` of the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Primitive {
    /// The resource id.
    pub id: String,
    /// `ocf`, `stonith`, `systemd`, ...
    pub class: String,
    /// The OCF provider (empty for other classes).
    pub provider: String,
    /// The resource type.
    pub kind: String,
    /// Instance attributes in document order (every set; see `rules`).
    pub params: Vec<(String, String)>,
    /// Meta attributes: the enclosing clone's first, then the primitive's own.
    pub meta: Vec<(String, String)>,
    /// Operation names with their `OCF_CHECK_LEVEL`/depth, if any.
    pub ops: Vec<(String, Option<String>)>,
    /// Things that make attribute values depend on where and when they are evaluated
    /// (`rule`s, `id-ref`s): reported, since a file cannot tell which value wins.
    pub notes: Vec<String>,
    /// Enclosing group, clone or promotable clone ids, outermost first.
    pub parents: Vec<String>,
    /// Inside a clone (or a promotable clone).
    pub cloned: bool,
}

impl Primitive {
    /// `class:provider:type` as configuration shows it.
    pub fn agent(&self) -> String {
        if self.provider.is_empty() {
            format!("{}:{}", self.class, self.kind)
        } else {
            format!("{}:{}:{}", self.class, self.provider, self.kind)
        }
    }
    /// A meta attribute's value (the primitive's own wins over its clone's).
    pub fn meta_value(&self, name: &str) -> Option<&str> {
        self.meta
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Every primitive under `<configuration><resources>` of a CIB (or of a bare
/// `<resources>`/`<configuration>` document).
///
/// # Errors
/// The text is not XML or has no resources section.
pub fn primitives(xml: &str) -> Result<Vec<Primitive>, String> {
    let root = xml::parse(xml.as_bytes()).map_err(|e| e.to_string())?;
    let resources = find(&root, "resources")
        .ok_or_else(|| "no <resources> section: is this a CIB (cibadmin -Q)?".to_string())?;
    let mut out = Vec::new();
    walk(resources, &[], &[], false, &mut out);
    Ok(out)
}

/// How many nodes the CIB's `<nodes>` section lists (0 when it has none).
pub fn node_count(xml: &str) -> usize {
    xml::parse(xml.as_bytes())
        .ok()
        .and_then(|r| find(&r, "nodes").map(|n| n.children_named("node").count()))
        .unwrap_or(0)
}

fn find<'a>(e: &'a Element, name: &str) -> Option<&'a Element> {
    if e.name == name {
        return Some(e);
    }
    e.children.iter().find_map(|c| find(c, name))
}

fn nvpairs(e: &Element, set: &str, notes: &mut Vec<String>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for s in e.children_named(set) {
        if s.children_named("rule").next().is_some() {
            notes.push(format!(
                "{set} {} has a rule: its values apply only where the rule matches",
                s.get("id").unwrap_or("?")
            ));
        }
        if let Some(r) = s.get("id-ref") {
            notes.push(format!("{set} refers to {r} (id-ref): not checked"));
        }
        for nv in s.children_named("nvpair") {
            match (nv.get("name"), nv.get("value")) {
                (Some(n), Some(v)) => out.push((n.to_string(), v.to_string())),
                (Some(n), None) => out.push((n.to_string(), String::new())),
                _ => notes.push(format!(
                    "nvpair {} without a name (id-ref?): not checked",
                    nv.get("id").unwrap_or("?")
                )),
            }
        }
    }
    out
}

fn walk(
    e: &Element,
    parents: &[String],
    inherited: &[(String, String)],
    cloned: bool,
    out: &mut Vec<Primitive>,
) {
    for c in &e.children {
        match c.name.as_str() {
            "primitive" => {
                let mut notes = Vec::new();
                let params = nvpairs(c, "instance_attributes", &mut notes);
                let mut meta = inherited.to_vec();
                meta.extend(nvpairs(c, "meta_attributes", &mut notes));
                let mut ops = Vec::new();
                for ops_el in c.children_named("operations") {
                    for op in ops_el.children_named("op") {
                        let mut depth = op.get("OCF_CHECK_LEVEL").map(str::to_string);
                        for ia in op.children_named("instance_attributes") {
                            for nv in ia.children_named("nvpair") {
                                if nv.get("name") == Some("OCF_CHECK_LEVEL") {
                                    depth = nv.get("value").map(str::to_string);
                                }
                            }
                        }
                        ops.push((op.get("name").unwrap_or("").to_string(), depth));
                    }
                }
                out.push(Primitive {
                    id: c.get("id").unwrap_or("").to_string(),
                    class: c.get("class").unwrap_or("").to_string(),
                    provider: c.get("provider").unwrap_or("").to_string(),
                    kind: c.get("type").unwrap_or("").to_string(),
                    params,
                    meta,
                    ops,
                    notes,
                    parents: parents.to_vec(),
                    cloned,
                });
            }
            "group" | "clone" | "master" | "bundle" => {
                let mut p = parents.to_vec();
                p.push(c.get("id").unwrap_or("").to_string());
                let mut notes = Vec::new();
                let mut meta = inherited.to_vec();
                meta.extend(nvpairs(c, "meta_attributes", &mut notes));
                if c.name == "master" {
                    meta.push(("promotable".into(), "true".into()));
                }
                walk(c, &p, &meta, cloned || c.name != "group", out);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitives_in_groups_and_clones() {
        let xml = r#"<cib><configuration><resources>
          <primitive id="a" class="ocf" provider="heartbeat" type="Dummy">
            <instance_attributes id="a-ia"><nvpair id="a1" name="state" value="/x"/></instance_attributes>
            <operations><op id="a-m" name="monitor" interval="10s" OCF_CHECK_LEVEL="10"/></operations>
          </primitive>
          <clone id="c"><meta_attributes id="c-m"><nvpair id="c1" name="globally-unique" value="true"/></meta_attributes>
            <group id="g"><primitive id="b" class="ocf" provider="heartbeat" type="IPaddr2">
              <meta_attributes id="b-m"><nvpair id="b1" name="globally-unique" value="false"/></meta_attributes>
            </primitive></group></clone>
          <primitive id="s" class="stonith" type="fence_x"/>
        </resources></configuration></cib>"#;
        let p = primitives(xml).unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!(p[0].agent(), "ocf:heartbeat:Dummy");
        assert_eq!(p[0].params, vec![("state".into(), "/x".into())]);
        assert_eq!(p[0].ops, vec![("monitor".into(), Some("10".into()))]);
        assert_eq!(p[1].parents, vec!["c".to_string(), "g".to_string()]);
        assert_eq!(p[1].meta_value("globally-unique"), Some("false"));
        assert!(p[1].cloned && !p[0].cloned);
        assert_eq!(p[2].agent(), "stonith:fence_x");
        assert!(primitives("<cib/>").is_err());
    }
}
