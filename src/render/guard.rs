//! What keeps rendering pure and bounded.
//!
//! Templates see the documented context and nothing else: Tera's
//! `get_env` (the one built-in that reads outside the context; `now` and
//! `get_random` are not compiled in) is refused when templates are
//! loaded and replaced by a function that fails, so no template can read
//! the environment, the filesystem or the clock.
//!
//! Rendering is bounded three ways:
//! - **Before compiling**, a template nested deeper than [`MAX_NESTING`]
//!   (brackets inside a tag, or block tags) is refused, because Tera's
//!   parser recurses once per level.
//! - **When loading**, includes, imports, extends and macro calls form a
//!   graph; a cycle in it (a template including itself, two including each
//!   other, a macro calling itself) is refused with its chain, because
//!   Tera would recurse until the stack overflows.
//! - **While rendering**, `range` hands out at most [`RANGE_BUDGET`] numbers
//!   per repository, one file's output is at most [`MAX_OUTPUT`] bytes, and
//!   a repository's rendering that takes longer than [`TIME_BUDGET`] fails
//!   that repository (it runs on a thread of its own, see
//!   `Renderer::desired_files`).

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use tera::ast::{Expr, ExprVal, Node};

use super::RenderError;
use crate::config::TemplateSources;

/// The deepest nesting of brackets inside one tag, or of block tags.
pub const MAX_NESTING: usize = 64;
/// Numbers `range` may produce while rendering one repository.
pub const RANGE_BUDGET: u64 = 100_000;
/// The largest file a template may render.
pub const MAX_OUTPUT: usize = 1 << 20;
/// How long one repository's files may take to render.
pub const TIME_BUDGET: Duration = Duration::from_secs(5);

/// Functions templates may call; everything else is refused at load.
const FUNCTIONS: [&str; 3] = ["range", "throw", "misfit"];

/// What the error of `misfit(reason=…)` carries before its reason.
pub const MISFIT: &str = "drover-misfit:";

thread_local! {
    static RANGE_LEFT: Cell<u64> = const { Cell::new(RANGE_BUDGET) };
}

/// Starts a fresh `range` budget for the renders that follow on this thread.
pub fn reset_budget() {
    RANGE_LEFT.with(|left| left.set(RANGE_BUDGET));
}

/// Registers the guarded functions on `tera`, replacing the built-ins.
pub fn install(tera: &mut tera::Tera) {
    tera.register_function("get_env", |_: &HashMap<String, tera::Value>| {
        Err(tera::Error::msg(
            "get_env is not available: templates see only repo, forge, defaults and vars",
        ))
    });
    tera.register_function("range", bounded_range);
    // `{{ misfit(reason="…") }}`: this file does not fit the repository;
    // it is not proposed, and the reason is reported.
    tera.register_function("misfit", |args: &HashMap<String, tera::Value>| {
        let reason = args
            .get("reason")
            .and_then(|r| r.as_str())
            .unwrap_or("the template says it does not fit");
        Err(tera::Error::msg(format!("{MISFIT} {reason}")))
    });
}

/// Tera's `range(end, start=0, step_by=1)`, counted against the budget.
fn bounded_range(args: &HashMap<String, tera::Value>) -> tera::Result<tera::Value> {
    let int = |name: &str, default: Option<i64>| -> tera::Result<i64> {
        match args.get(name) {
            Some(v) => v
                .as_i64()
                .ok_or_else(|| tera::Error::msg(format!("range: `{name}` must be an integer"))),
            None => default.ok_or_else(|| tera::Error::msg("range: `end` is required")),
        }
    };
    let start = int("start", Some(0))?;
    let end = int("end", None)?;
    let step = int("step_by", Some(1))?;
    if step <= 0 {
        return Err(tera::Error::msg("range: `step_by` must be positive"));
    }
    let count = if end > start {
        ((end as i128 - start as i128 + step as i128 - 1) / step as i128) as u64
    } else {
        0
    };
    let left = RANGE_LEFT.with(Cell::get);
    if count > left {
        return Err(tera::Error::msg(format!(
            "range: more than {RANGE_BUDGET} numbers in one rendering (the budget)"
        )));
    }
    RANGE_LEFT.with(|l| l.set(left - count));
    Ok(tera::Value::Array(
        (0..count as i64)
            .map(|i| tera::Value::from(start + i * step))
            .collect(),
    ))
}

/// Refuses a template nested too deep for the parser, before it runs.
pub fn check_nesting(sources: &TemplateSources) -> Result<(), RenderError> {
    for (name, text) in &sources.files {
        if let Some((line, what)) = too_deep(text) {
            return Err(RenderError {
                file: sources.display_path(name),
                line,
                message: format!("{what} nested more than {MAX_NESTING} deep"),
            });
        }
    }
    Ok(())
}

/// The line where `text` first nests deeper than [`MAX_NESTING`].
fn too_deep(text: &str) -> Option<(usize, &'static str)> {
    let bytes = text.as_bytes();
    let mut line = 1;
    let mut i = 0;
    let mut blocks: usize = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => line += 1,
            b'{' if matches!(bytes.get(i + 1), Some(b'{' | b'%')) => {
                let close: &[u8] = if bytes[i + 1] == b'{' { b"}}" } else { b"%}" };
                let start = i + 2;
                let end = find(bytes, start, close).unwrap_or(bytes.len());
                let tag = &text[start..end];
                let mut depth: usize = 0;
                for c in tag.bytes() {
                    match c {
                        b'(' | b'[' => {
                            depth += 1;
                            if depth > MAX_NESTING {
                                return Some((line, "brackets"));
                            }
                        }
                        b')' | b']' => depth = depth.saturating_sub(1),
                        _ => {}
                    }
                }
                if bytes[i + 1] == b'%' {
                    let word = tag
                        .trim_start_matches('-')
                        .split_whitespace()
                        .next()
                        .unwrap_or("");
                    if matches!(word, "if" | "for" | "macro" | "block" | "filter") {
                        blocks += 1;
                        if blocks > MAX_NESTING {
                            return Some((line, "block tags"));
                        }
                    } else if word.starts_with("end") {
                        blocks = blocks.saturating_sub(1);
                    }
                }
                line += tag.matches('\n').count();
                i = end + 2;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn find(haystack: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// A vertex of the call graph: a template, or a macro of a template.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Vertex {
    Template(String),
    Macro(String, String),
}

impl Vertex {
    fn describe(&self) -> String {
        match self {
            Vertex::Template(t) => t.clone(),
            Vertex::Macro(t, m) => format!("{t} (macro {m})"),
        }
    }
}

/// Refuses cycles among includes, imports, extends and macro calls, and
/// calls to functions outside [`FUNCTIONS`].
pub fn check_graph(tera: &tera::Tera, sources: &TemplateSources) -> Result<(), RenderError> {
    let mut edges: BTreeMap<Vertex, BTreeSet<Vertex>> = BTreeMap::new();
    for name in tera.get_template_names() {
        let template = tera.get_template(name).map_err(|e| RenderError {
            file: sources.display_path(name),
            line: 1,
            message: e.to_string(),
        })?;
        let namespaces: HashMap<&str, &str> = template
            .imported_macro_files
            .iter()
            .map(|(file, ns)| (ns.as_str(), file.as_str()))
            .collect();
        let walk = |bodies: &[&[Node]]| {
            let mut walker = Walker {
                template: name,
                namespaces: &namespaces,
                out: BTreeSet::new(),
                function: None,
            };
            for body in bodies {
                walker.nodes(body);
            }
            match walker.function {
                Some(function) => Err(function_error(sources, name, &function)),
                None => Ok(walker.out),
            }
        };
        let mut bodies: Vec<&[Node]> = vec![&template.ast];
        bodies.extend(template.blocks.values().map(|b| b.body.as_slice()));
        let mut top = walk(&bodies)?;
        top.extend(template.parents.iter().cloned().map(Vertex::Template));
        edges.insert(Vertex::Template(name.to_owned()), top);
        for (macro_name, definition) in &template.macros {
            let out = walk(&[&definition.body])?;
            edges.insert(Vertex::Macro(name.to_owned(), macro_name.clone()), out);
        }
    }
    if let Some(cycle) = find_cycle(&edges) {
        let first = match &cycle[0] {
            Vertex::Template(t) | Vertex::Macro(t, _) => t.clone(),
        };
        let chain: Vec<String> = cycle.iter().map(Vertex::describe).collect();
        return Err(RenderError {
            file: sources.display_path(&first),
            line: 1,
            message: format!(
                "templates call themselves without end: {} (includes, imports and macro calls may not form a cycle)",
                chain.join(" → ")
            ),
        });
    }
    Ok(())
}

fn function_error(sources: &TemplateSources, template: &str, function: &str) -> RenderError {
    let text = sources
        .files
        .get(template)
        .map(String::as_str)
        .unwrap_or("");
    let line = text
        .lines()
        .position(|l| l.contains(function))
        .map_or(1, |n| n + 1);
    let message = if function == "get_env" {
        "get_env is not available: templates cannot read the environment; pass values through `variables:` or fleet.yaml `vars:`".to_owned()
    } else {
        format!(
            "function `{function}` is not available (templates may call: {})",
            FUNCTIONS.join(", ")
        )
    };
    RenderError {
        file: sources.display_path(template),
        line,
        message,
    }
}

/// Collects the edges out of one body.
struct Walker<'a> {
    template: &'a str,
    namespaces: &'a HashMap<&'a str, &'a str>,
    out: BTreeSet<Vertex>,
    /// The first function call outside [`FUNCTIONS`].
    function: Option<String>,
}

impl Walker<'_> {
    fn nodes(&mut self, nodes: &[Node]) {
        for node in nodes {
            self.node(node);
        }
    }

    fn node(&mut self, node: &Node) {
        match node {
            Node::VariableBlock(_, e) => self.expr(e),
            Node::MacroDefinition(..) => {} // walked on its own
            Node::Include(_, names, _) => {
                for n in names {
                    self.out.insert(Vertex::Template(n.clone()));
                }
            }
            Node::Set(_, set) => self.expr(&set.value),
            Node::FilterSection(_, section, _) => {
                self.args(section.filter.args.values());
                self.nodes(&section.body);
            }
            Node::Block(_, block, _) => self.nodes(&block.body),
            Node::Forloop(_, l, _) => {
                self.expr(&l.container);
                self.nodes(&l.body);
                if let Some(empty) = &l.empty_body {
                    self.nodes(empty);
                }
            }
            Node::If(i, _) => {
                for (_, cond, body) in &i.conditions {
                    self.expr(cond);
                    self.nodes(body);
                }
                if let Some((_, body)) = &i.otherwise {
                    self.nodes(body);
                }
            }
            Node::Super
            | Node::Text(_)
            | Node::Extends(..)
            | Node::ImportMacro(..)
            | Node::Raw(..)
            | Node::Break(_)
            | Node::Continue(_)
            | Node::Comment(..) => {}
        }
    }

    fn args<'e>(&mut self, args: impl Iterator<Item = &'e Expr>) {
        for a in args {
            self.expr(a);
        }
    }

    fn expr(&mut self, e: &Expr) {
        for f in &e.filters {
            self.args(f.args.values());
        }
        match &e.val {
            ExprVal::String(_)
            | ExprVal::Int(_)
            | ExprVal::Float(_)
            | ExprVal::Bool(_)
            | ExprVal::Ident(_) => {}
            ExprVal::Math(m) => {
                self.expr(&m.lhs);
                self.expr(&m.rhs);
            }
            ExprVal::Logic(l) => {
                self.expr(&l.lhs);
                self.expr(&l.rhs);
            }
            ExprVal::In(i) => {
                self.expr(&i.lhs);
                self.expr(&i.rhs);
            }
            ExprVal::Test(t) => self.args(t.args.iter()),
            ExprVal::MacroCall(call) => {
                let file = if call.namespace == "self" {
                    Some(self.template)
                } else {
                    self.namespaces.get(call.namespace.as_str()).copied()
                };
                if let Some(file) = file {
                    self.out
                        .insert(Vertex::Macro(file.to_owned(), call.name.clone()));
                }
                self.args(call.args.values());
            }
            ExprVal::FunctionCall(call) => {
                if !FUNCTIONS.contains(&call.name.as_str()) && self.function.is_none() {
                    self.function = Some(call.name.clone());
                }
                self.args(call.args.values());
            }
            ExprVal::Array(items) => self.args(items.iter()),
            ExprVal::StringConcat(c) => {
                for v in &c.values {
                    self.expr(&Expr::new(v.clone()));
                }
            }
        }
    }
}

/// A cycle in the graph, as the vertices along it with the first repeated
/// at the end, if there is one.
fn find_cycle(edges: &BTreeMap<Vertex, BTreeSet<Vertex>>) -> Option<Vec<Vertex>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    let mut marks: BTreeMap<&Vertex, Mark> = BTreeMap::new();
    for root in edges.keys() {
        if marks.contains_key(root) {
            continue;
        }
        // Iterative depth-first search: the path and, per vertex on it,
        // the successors still to visit.
        let mut path: Vec<&Vertex> = vec![root];
        let mut pending: Vec<Vec<&Vertex>> = vec![successors(edges, root)];
        marks.insert(root, Mark::Open);
        while let Some(next) = pending.last_mut() {
            match next.pop() {
                Some(v) => match marks.get(v) {
                    Some(Mark::Open) => {
                        let from = path.iter().position(|p| *p == v).expect("open is on path");
                        let mut cycle: Vec<Vertex> =
                            path[from..].iter().map(|v| (*v).clone()).collect();
                        cycle.push(v.clone());
                        return Some(cycle);
                    }
                    Some(Mark::Done) => {}
                    None => {
                        marks.insert(v, Mark::Open);
                        path.push(v);
                        pending.push(successors(edges, v));
                    }
                },
                None => {
                    let done = path.pop().expect("path follows pending");
                    marks.insert(done, Mark::Done);
                    pending.pop();
                }
            }
        }
    }
    None
}

fn successors<'a>(edges: &'a BTreeMap<Vertex, BTreeSet<Vertex>>, v: &Vertex) -> Vec<&'a Vertex> {
    edges
        .get(v)
        .map(|s| s.iter().rev().collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_is_measured_inside_tags_only() {
        let deep = format!("{{{{ {}1{} }}}}", "(".repeat(65), ")".repeat(65));
        assert_eq!(too_deep(&format!("a\n{deep}")), Some((2, "brackets")));
        let shallow = format!("{{{{ {}1{} }}}}", "(".repeat(10), ")".repeat(10));
        assert_eq!(too_deep(&shallow), None);
        assert_eq!(too_deep(&"(".repeat(1000)), None, "text outside tags");
        let ifs = "{% if x %}".repeat(65);
        assert_eq!(too_deep(&ifs), Some((1, "block tags")));
        let sequential = "{% if x %}{% endif %}".repeat(1000);
        assert_eq!(too_deep(&sequential), None);
    }

    #[test]
    fn range_counts_against_one_budget() {
        reset_budget();
        let args = |end: i64| HashMap::from([("end".to_owned(), tera::Value::from(end))]);
        let got = bounded_range(&args(3)).unwrap();
        assert_eq!(got, serde_json::json!([0, 1, 2]));
        let stepped = bounded_range(&HashMap::from([
            ("start".to_owned(), tera::Value::from(1)),
            ("end".to_owned(), tera::Value::from(8)),
            ("step_by".to_owned(), tera::Value::from(3)),
        ]))
        .unwrap();
        assert_eq!(stepped, serde_json::json!([1, 4, 7]));
        assert!(bounded_range(&args(RANGE_BUDGET as i64)).is_err());
        reset_budget();
        assert!(bounded_range(&args(RANGE_BUDGET as i64)).is_ok());
        assert!(bounded_range(&args(1)).is_err(), "spent");
    }
}
