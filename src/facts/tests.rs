use super::*;

#[test]
fn rust_single_crate_service_and_library() {
    let f = Facts::read(&snapshot_of(&[
        (
            "Cargo.toml",
            "[package]\nname = \"billing-api\"\nrust-version = \"1.80\"\n[dependencies]\naxum = \"0.8\"\n",
        ),
        ("Cargo.lock", ""),
        ("src/main.rs", "fn main() {}"),
    ]));
    let r = f.rust.as_ref().unwrap();
    assert_eq!(r.bins, ["billing-api"]);
    assert!(!r.lib && r.lock && r.server);
    assert_eq!(r.rust_version.as_deref(), Some("1.80"));
    assert_eq!(f.kind("rust"), Some(Kind::Service));

    let f = Facts::read(&snapshot_of(&[
        ("Cargo.toml", "[package]\nname = \"x\"\n"),
        ("src/lib.rs", ""),
    ]));
    let r = f.rust.unwrap();
    assert!(r.lib && !r.lock && r.bins.is_empty());
    assert_eq!(r.kind(), Kind::Library);
}

#[test]
fn rust_bins_from_manifest_main_and_src_bin() {
    let f = Facts::read(&snapshot_of(&[
        (
            "Cargo.toml",
            "[package]\nname = \"tool\"\n[[bin]]\nname = \"toolctl\"\npath = \"src/main.rs\"\n[[bin]]\nname = \"other\"\npath = \"app/other.rs\"\n",
        ),
        ("src/main.rs", ""),
        ("src/bin/a.rs", ""),
        ("src/bin/b/main.rs", ""),
        ("app/other.rs", ""),
    ]));
    let r = f.rust.unwrap();
    assert_eq!(r.bins, ["toolctl", "other", "a", "b"]);
    assert_eq!(r.kind(), Kind::Cli);
}

#[test]
fn rust_workspace_members_come_from_follow_up_reads() {
    let mut snap = snapshot_of(&[
        (
            "Cargo.toml",
            "[workspace]\nmembers = [\"crates/*\", \"tools/gen\"]\n[workspace.package]\nrust-version = \"1.85\"\n",
        ),
        ("Cargo.lock", ""),
    ]);
    let more = follow_up(&snap);
    assert_eq!(more.dirs, ["crates", "tools/gen/src", "tools/gen/src/bin"]);
    assert_eq!(more.paths, [RepoPath::new("tools/gen/Cargo.toml").unwrap()]);
    let rest = snapshot_of(&[
        (
            "crates/core/Cargo.toml",
            "[package]\nname = \"core\"\nrust-version.workspace = true\n",
        ),
        ("crates/core/src/lib.rs", ""),
        ("crates/cli/Cargo.toml", "[package]\nname = \"wsctl\"\n"),
        ("crates/cli/src/main.rs", ""),
    ]);
    snap.listings.extend(rest.listings);
    snap.files.extend(rest.files);
    let r = Facts::read(&snap).rust.unwrap();
    assert_eq!(r.workspace, rust::Workspace::Virtual);
    assert_eq!(r.members, ["crates/cli", "crates/core", "tools/gen"]);
    assert_eq!(r.bins, ["wsctl"]);
    assert!(r.lib);
    assert_eq!(r.rust_version.as_deref(), Some("1.85"));
    assert_eq!(r.unread, ["tools/gen"]);
}

#[test]
fn go_mains_servers_and_executables() {
    let f = Facts::read(&snapshot_of(&[
        ("go.mod", "module example.com/acme/orders\n\ngo 1.23\n"),
        (
            "cmd/orders/main.go",
            "package main\nimport \"net/http\"\nfunc main() { http.ListenAndServe(\":8080\", nil) }\n",
        ),
    ]));
    let g = f.go.unwrap();
    assert_eq!(g.mains, ["./cmd/orders"]);
    assert_eq!(g.go_version.as_deref(), Some("1.23"));
    assert_eq!(g.kind(), Kind::Service);

    let f = Facts::read(&snapshot_of(&[
        ("go.mod", "module github.com/acme/gitsync/v2\n"),
        (
            "main.go",
            "package main\nimport \"os/exec\"\nfunc main() { exec.Command(\"git\", \"fetch\").Run() }\n",
        ),
    ]));
    let g = f.go.unwrap();
    assert_eq!(
        (g.mains.as_slice(), g.binaries.as_slice()),
        (&[".".to_owned()][..], &["gitsync".to_owned()][..])
    );
    assert_eq!(g.execs, ["git"]);
    assert_eq!(g.kind(), Kind::Cli);

    let f = Facts::read(&snapshot_of(&[
        ("go.mod", "module x\n"),
        ("x.go", "package x\n"),
    ]));
    assert_eq!(f.kind("go"), Some(Kind::Library));
}

#[test]
fn node_manager_scripts_and_kind() {
    let f = Facts::read(&snapshot_of(&[
        (
            "package.json",
            r#"{"name":"web","packageManager":"pnpm@9.1.0","scripts":{"build":"tsc","start":"node dist/server.js"},"dependencies":{"fastify":"4"},"devDependencies":{"typescript":"5"}}"#,
        ),
        ("pnpm-lock.yaml", ""),
        ("tsconfig.json", "{}"),
    ]));
    let n = f.node.unwrap();
    assert_eq!(
        (n.manager.as_str(), n.lock.as_deref()),
        ("pnpm", Some("pnpm-lock.yaml"))
    );
    assert_eq!(n.install, "pnpm install --frozen-lockfile");
    assert!(n.typescript && n.server && !n.has_script("test"));
    assert_eq!(n.kind(), Kind::Service);

    let f = Facts::read(&snapshot_of(&[
        ("package.json", r#"{"name":"@acme/tool","bin":"cli.js"}"#),
        ("yarn.lock", ""),
    ]));
    let n = f.node.unwrap();
    assert_eq!(
        (n.manager.as_str(), n.install.as_str()),
        ("yarn", "yarn install --frozen-lockfile")
    );
    assert_eq!(n.bins, ["tool"]);
    assert_eq!(n.kind(), Kind::Cli);
}

#[test]
fn python_tools_groups_layouts() {
    let f = Facts::read(&snapshot_of(&[
        (
            "pyproject.toml",
            "[project]\nname = \"orders\"\ndependencies = [\"fastapi>=0.110\", \"uvicorn[standard]\"]\n[dependency-groups]\ndev = [\"pytest>=8\"]\n",
        ),
        ("uv.lock", ""),
        ("src/orders/__init__.py", ""),
    ]));
    let p = f.python.unwrap();
    assert_eq!((p.tool.as_str(), p.layout.as_str()), ("uv", "src"));
    assert_eq!(p.min_python, None);
    assert_eq!(p.groups, ["dev"]);
    assert!(p.pytest && !p.auto_discovery);
    assert_eq!(p.kind(), Kind::Service);

    let f = Facts::read(&snapshot_of(&[
        ("requirements.txt", "Flask==3.0\n"),
        ("app.py", ""),
    ]));
    let p = f.python.unwrap();
    assert_eq!(
        (p.tool.as_str(), p.framework.as_deref()),
        ("requirements", Some("flask"))
    );
    assert!(!p.installable);

    let f = Facts::read(&snapshot_of(&[
        (
            "pyproject.toml",
            "[build-system]\nrequires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"\n[project]\nname = \"pkg\"\n[project.scripts]\npkg = \"pkg:main\"\n",
        ),
        ("pkg/__init__.py", ""),
    ]));
    let p = f.python.unwrap();
    assert!(p.auto_discovery);
    assert!(!p.may_add_top_level("deploy") && p.may_add_top_level(".github"));
    assert_eq!(p.kind(), Kind::Cli);
}

#[test]
fn the_lowest_python_a_project_admits() {
    for (spec, want) in [
        (">=3.11", Some("3.11")),
        (">=3.10,<4", Some("3.10")),
        ("^3.12", Some("3.12")),
        ("~=3.9.1", Some("3.9")),
        ("<4", None),
    ] {
        let f = Facts::read(&snapshot_of(&[(
            "pyproject.toml",
            &format!("[project]\nname = \"p\"\nrequires-python = \"{spec}\"\n"),
        )]));
        assert_eq!(f.python.unwrap().min_python.as_deref(), want, "{spec}");
    }
}
