//! The host's contract with a kernel file, read from the built-in file of that name: every
//! entry point the host runs from it, each with the bindings the host binds (group, binding,
//! address space, access and type) and its workgroup size taken from the `WG` override, and
//! every override constant the host sets. `shaders check` holds a custom file to it, so a file
//! that passes check builds its pipelines in a run.

use naga::{AddressSpace, Module, StorageAccess, TypeInner};

use super::shaders::{Assembled, COMMON, COMMON_FILE, ShaderFile, assemble, position, validated};

/// A validated module and where its source came from.
pub struct Checked<'a> {
    /// The source, for positions.
    pub assembled: &'a Assembled,
    /// naga's module.
    pub module: &'a Module,
    /// naga's analysis (which globals each entry point uses).
    pub info: &'a naga::valid::ModuleInfo,
}

impl<'a> Checked<'a> {
    /// A module naga validated, from `assembled`.
    pub fn new(
        assembled: &'a Assembled,
        module: &'a Module,
        info: &'a naga::valid::ModuleInfo,
    ) -> Self {
        Self {
            assembled,
            module,
            info,
        }
    }
}

/// One binding an entry point uses, as the host sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Binding {
    group: u32,
    binding: u32,
    /// `uniform`, `storage, read` or `storage, read_write`.
    space: String,
    /// The type's layout, e.g. `array<vec4<f32>>`.
    ty: String,
}

/// What the host needs of `file` that the custom `kernel` lacks: one line per failure, each
/// with its position in the kernel's file. Empty when the kernel keeps the contract.
pub fn broken(file: ShaderFile, kernel: &Checked) -> Vec<String> {
    let builtin = assemble(
        COMMON.to_string(),
        COMMON_FILE.to_string(),
        file.builtin(),
        file.file_name().to_string(),
    );
    let (module, info) = validated(&builtin).expect("the built-in kernels pass naga");
    let host = Checked::new(&builtin, &module, &info);
    let mut failures = missing_overrides(&host, kernel);
    let runs: Vec<&str> = host
        .module
        .entry_points
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    for (i, ep) in host.module.entry_points.iter().enumerate() {
        let Some(j) = kernel
            .module
            .entry_points
            .iter()
            .position(|e| e.name == ep.name)
        else {
            failures.push(missing_entry_point(&ep.name, &runs, kernel));
            continue;
        };
        failures.extend(workgroup_size(&host, i, kernel, j));
        failures.extend(bindings(&host, i, kernel, j));
    }
    failures
}

/// The entry point `name` the host runs is not in the kernel: said at the first entry point the
/// host does not run (a renamed one), else at the file's start.
fn missing_entry_point(name: &str, runs: &[&str], kernel: &Checked) -> String {
    let stray = kernel
        .module
        .entry_points
        .iter()
        .find(|e| !runs.contains(&e.name.as_str()));
    let at = stray
        .and_then(|e| fn_offset(&kernel.assembled.source, &e.name))
        .map_or_else(
            || format!("{}:1:1", kernel.assembled.file_path),
            |offset| locate(kernel.assembled, offset),
        );
    let found = stray.map_or(String::new(), |e| {
        format!(" (`{}` here is not one it runs)", e.name)
    });
    format!(
        "{at}: no entry point `{name}`{found}: the host runs {} from this file",
        runs.join(", ")
    )
}

/// The kernel's entry point must take its workgroup size from the `WG` override where the
/// built-in one does: the host sizes its dispatches by WG.
fn workgroup_size(host: &Checked, i: usize, kernel: &Checked, j: usize) -> Option<String> {
    let wants = from_wg(host.module, &host.module.entry_points[i]);
    let ep = &kernel.module.entry_points[j];
    if !wants || from_wg(kernel.module, ep) {
        return None;
    }
    let source = &kernel.assembled.source;
    let at = fn_offset(source, &ep.name)
        .map(|f| source[..f].rfind("@workgroup_size").unwrap_or(f))
        .map_or_else(
            || kernel.assembled.file_path.clone(),
            |offset| locate(kernel.assembled, offset),
        );
    let size = match ep.workgroup_size_overrides {
        None => {
            let [x, y, z] = ep.workgroup_size;
            format!("a fixed @workgroup_size({x}, {y}, {z})")
        }
        Some(_) => "a workgroup size not taken from WG".to_string(),
    };
    Some(format!(
        "{at}: `{}` has {size}; the host dispatches it as if it had WG invocations (set per run: 256 by default, up to 1024 for one-workgroup kernels, --workgroup-size): write @workgroup_size(WG)",
        ep.name
    ))
}

/// True when the entry point's workgroup size along x is the override named `WG`.
fn from_wg(module: &Module, ep: &naga::EntryPoint) -> bool {
    let Some([Some(x), _, _]) = ep.workgroup_size_overrides else {
        return false;
    };
    match module.global_expressions[x] {
        naga::Expression::Override(h) => module.overrides[h].name.as_deref() == Some("WG"),
        _ => false,
    }
}

/// Every binding the built-in entry point `i` uses must be used by the kernel's entry point `j`
/// with the same address space, access and type, and it may use no other: the host binds
/// exactly those.
fn bindings(host: &Checked, i: usize, kernel: &Checked, j: usize) -> Vec<String> {
    let name = &host.module.entry_points[i].name;
    let want = used_bindings(host, i);
    let got = used_bindings(kernel, j);
    let at = fn_offset(&kernel.assembled.source, name).map_or_else(
        || kernel.assembled.file_path.clone(),
        |offset| locate(kernel.assembled, offset),
    );
    let describe = |b: &Binding| {
        format!(
            "@group({}) @binding({}) var<{}> {}",
            b.group, b.binding, b.space, b.ty
        )
    };
    let mut failures = Vec::new();
    for w in &want {
        match got
            .iter()
            .find(|g| (g.group, g.binding) == (w.group, w.binding))
        {
            None => failures.push(format!(
                "{at}: `{name}` does not use {}, which the host binds",
                describe(w)
            )),
            Some(g) if g != w => failures.push(format!(
                "{at}: `{name}` declares {} where the host binds {}",
                describe(g),
                describe(w)
            )),
            Some(_) => {}
        }
    }
    for g in got.iter().filter(|g| {
        !want
            .iter()
            .any(|w| (w.group, w.binding) == (g.group, g.binding))
    }) {
        failures.push(format!(
            "{at}: `{name}` uses {}, which the host does not bind",
            describe(g)
        ));
    }
    failures
}

/// The resource bindings entry point `index` of `m` uses, in binding order.
fn used_bindings(m: &Checked, index: usize) -> Vec<Binding> {
    let uses = m.info.get_entry_point(index);
    let mut out: Vec<Binding> = m
        .module
        .global_variables
        .iter()
        .filter(|(h, _)| !uses[*h].is_empty())
        .filter_map(|(_, var)| {
            let rb = var.binding.as_ref()?;
            let space = match var.space {
                AddressSpace::Uniform => "uniform".to_string(),
                AddressSpace::Storage { access } if access.contains(StorageAccess::STORE) => {
                    "storage, read_write".to_string()
                }
                AddressSpace::Storage { .. } => "storage, read".to_string(),
                other => format!("{other:?}"),
            };
            Some(Binding {
                group: rb.group,
                binding: rb.binding,
                space,
                ty: layout(m.module, var.ty),
            })
        })
        .collect();
    out.sort_by_key(|b| (b.group, b.binding));
    out
}

/// A type's layout in WGSL's words, names left out (a renamed struct is the same struct).
fn layout(module: &Module, ty: naga::Handle<naga::Type>) -> String {
    match &module.types[ty].inner {
        TypeInner::Scalar(s) => scalar(*s),
        TypeInner::Vector { size, scalar: s } => format!("vec{}<{}>", *size as u8, scalar(*s)),
        TypeInner::Atomic(s) => format!("atomic<{}>", scalar(*s)),
        TypeInner::Array { base, size, .. } => match size {
            naga::ArraySize::Constant(n) => format!("array<{}, {n}>", layout(module, *base)),
            _ => format!("array<{}>", layout(module, *base)),
        },
        TypeInner::Struct { members, .. } => {
            let fields: Vec<String> = members.iter().map(|m| layout(module, m.ty)).collect();
            format!("struct {{ {} }}", fields.join(", "))
        }
        other => format!("{other:?}"),
    }
}

/// A scalar type in WGSL's words.
fn scalar(s: naga::Scalar) -> String {
    match s.kind {
        naga::ScalarKind::Float => format!("f{}", s.width * 8),
        naga::ScalarKind::Sint => format!("i{}", s.width * 8),
        naga::ScalarKind::Uint => format!("u{}", s.width * 8),
        naga::ScalarKind::Bool => "bool".into(),
        _ => format!("{s:?}"),
    }
}

/// The override constants the host always sets (`WG`, `ITEMS`) must be declared by the kernel,
/// and any other the built-in module declares, where the kernel declares it too, with the same
/// type (the host sets those only where declared).
fn missing_overrides(host: &Checked, kernel: &Checked) -> Vec<String> {
    let declared = |m: &Checked, name: &str| {
        m.module
            .overrides
            .iter()
            .find(|(_, o)| o.name.as_deref() == Some(name))
            .map(|(_, o)| layout(m.module, o.ty))
    };
    let file = &kernel.assembled.file_path;
    host.module
        .overrides
        .iter()
        .filter_map(|(_, o)| {
            let name = o.name.as_deref()?;
            let want = layout(host.module, o.ty);
            match declared(kernel, name) {
                Some(got) if got != want => Some(format!(
                    "{file}: `override {name}` is {got} where the host sets a {want}"
                )),
                None if ALWAYS_SET.contains(&name) => Some(format!(
                    "{file}: no `override {name}: {want}` (the built-in common.wgsl declares it), which the host sets for every kernel"
                )),
                _ => None,
            }
        })
        .collect()
}

/// The override constants the host sets on every pipeline.
const ALWAYS_SET: [&str; 2] = ["WG", "ITEMS"];

/// Where `fn name(` starts in `source`, in bytes.
fn fn_offset(source: &str, name: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(found) = source[from..].find(&format!("fn {name}")) {
        let at = from + found;
        let rest = source[at + 3 + name.len()..].trim_start();
        if rest.starts_with('(') {
            return Some(at);
        }
        from = at + 3;
    }
    None
}

/// `path:line:col` of byte `offset` of the assembled source, in the file it came from.
fn locate(a: &Assembled, offset: usize) -> String {
    let before = &a.source[..offset];
    let line = before.matches('\n').count() as u32 + 1;
    let col = (offset - before.rfind('\n').map_or(0, |n| n + 1)) as u32 + 1;
    position(a, line, col)
}
