//! `#[ktstr::test]`: turns a function into ktstr test cases, registered with
//! the harness (`ktstr::harness::main`). Use it through the `ktstr` crate.
//!
//! The function's signature picks the form:
//! - `fn() -> Scenario`: declarative; the run must pass (or fail as
//!   `expect_fail` says).
//! - `fn(&RunRecord)`: host-side assertions over the finished run of the
//!   `scenario` attribute's catalog scenario (or of `scenario_fn`'s).
//! - `fn(&RunRecord, &RunRecord)`: the same with the `baseline` scheduler's
//!   run of the same scenario as the second argument.
//!
//! Assertion bodies return `()` (and panic to fail) or `Result<(), E>` with
//! `E: Display`.

use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::quote;
use syn::parse::Parser;
use syn::{Expr, ExprArray, ExprLit, FnArg, ItemFn, Lit, LitStr, ReturnType};

/// Declares ktstr test cases; see the crate documentation and `ktstr`'s.
///
/// Attributes (all optional):
/// - `topology = "1,2,2,1"` or `topology = ["1,2,2,1", "llc-pair"]`
///   (`N,L,C,T` or preset names): one case per topology.
/// - `scheduler = "scx_simple"` or a list: one case per scheduler
///   (`eevdf`, kernel-tree or built production schedulers, paths, with
///   arguments: `"scx_qmap -t 2"`).
/// - `scenario = "steady"`: the catalog scenario an assertion body judges.
/// - `scenario_fn = path::to::fn`: a `fn() -> Scenario` to use instead.
/// - `baseline = "eevdf"`: also run the scenario under this scheduler and
///   pass its record as the second argument.
/// - `duration_ms = 4000`, `memory_mib = 1024`, `kernel = "debug"`.
/// - `expect_fail = "stall"`: the case passes only when the run fails with a
///   detail of that kind (a check name such as `gap`, a detail kind such as
///   `scheduler_died`, or `stall` for any of gap, starvation and a
///   scheduler ejected for a stall).
#[proc_macro_attribute]
pub fn test(attr: TokenStream, item: TokenStream) -> TokenStream {
    match expand(attr.into(), item.into()) {
        Ok(ts) => ts.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

#[derive(Default)]
struct Attrs {
    topologies: Vec<LitStr>,
    schedulers: Vec<LitStr>,
    scenario: Option<LitStr>,
    scenario_fn: Option<syn::Path>,
    baseline: Option<LitStr>,
    duration_ms: Option<syn::LitInt>,
    memory_mib: Option<syn::LitInt>,
    kernel: Option<LitStr>,
    expect_fail: Option<LitStr>,
}

fn strings(value: &Expr, key: &str) -> syn::Result<Vec<LitStr>> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok(vec![s.clone()]),
        Expr::Array(ExprArray { elems, .. }) => elems
            .iter()
            .map(|e| match e {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) => Ok(s.clone()),
                other => Err(syn::Error::new_spanned(
                    other,
                    format!("`{key}` takes string literals"),
                )),
            })
            .collect(),
        other => Err(syn::Error::new_spanned(
            other,
            format!("`{key}` takes a string or an array of strings"),
        )),
    }
}

fn parse_attrs(attr: proc_macro2::TokenStream) -> syn::Result<Attrs> {
    let mut a = Attrs::default();
    let parser = syn::meta::parser(|meta| {
        let key = meta
            .path
            .get_ident()
            .map(|i| i.to_string())
            .unwrap_or_default();
        let value = meta.value()?;
        match key.as_str() {
            "topology" => a.topologies = strings(&value.parse()?, "topology")?,
            "scheduler" => a.schedulers = strings(&value.parse()?, "scheduler")?,
            "scenario" => a.scenario = Some(value.parse()?),
            "scenario_fn" => a.scenario_fn = Some(value.parse()?),
            "baseline" => a.baseline = Some(value.parse()?),
            "duration_ms" => a.duration_ms = Some(value.parse()?),
            "memory_mib" => a.memory_mib = Some(value.parse()?),
            "kernel" => a.kernel = Some(value.parse()?),
            "expect_fail" => a.expect_fail = Some(value.parse()?),
            _ => {
                return Err(meta.error(
                    "unknown attribute; use topology, scheduler, scenario, scenario_fn, baseline, duration_ms, memory_mib, kernel or expect_fail",
                ))
            }
        }
        Ok(())
    });
    parser.parse2(attr)?;
    Ok(a)
}

fn opt_str(v: &Option<LitStr>) -> proc_macro2::TokenStream {
    match v {
        Some(s) => quote!(::core::option::Option::Some(#s)),
        None => quote!(::core::option::Option::None),
    }
}

fn opt_int(v: &Option<syn::LitInt>) -> proc_macro2::TokenStream {
    match v {
        Some(i) => quote!(::core::option::Option::Some(#i)),
        None => quote!(::core::option::Option::None),
    }
}

fn expand(
    attr: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> syn::Result<proc_macro2::TokenStream> {
    let a = parse_attrs(attr)?;
    let f: ItemFn = syn::parse2(item)?;
    let name = &f.sig.ident;
    let name_str = name.to_string();
    let args = f.sig.inputs.len();
    if let Some(arg) = f
        .sig
        .inputs
        .iter()
        .find(|i| matches!(i, FnArg::Receiver(_)))
    {
        return Err(syn::Error::new_spanned(
            arg,
            "a ktstr test is a free function",
        ));
    }
    let scenario_source = match (&a.scenario, &a.scenario_fn) {
        (Some(s), None) => quote!(::ktstr::harness::ScenarioSource::Catalog(#s)),
        (None, Some(p)) => quote!(::ktstr::harness::ScenarioSource::Function(#p)),
        (None, None) => quote!(::ktstr::harness::ScenarioSource::Body),
        (Some(s), Some(_)) => {
            return Err(syn::Error::new_spanned(
                s,
                "give `scenario` or `scenario_fn`, not both",
            ))
        }
    };
    let body = match args {
        0 => {
            if matches!(f.sig.output, ReturnType::Default) {
                return Err(syn::Error::new_spanned(
                    &f.sig,
                    "a ktstr test without arguments returns the Scenario to run",
                ));
            }
            if a.scenario.is_some() || a.scenario_fn.is_some() {
                return Err(syn::Error::new(
                    Span::call_site(),
                    "a declarative test (returning a Scenario) takes no `scenario` attribute",
                ));
            }
            if a.baseline.is_some() {
                return Err(syn::Error::new(
                    Span::call_site(),
                    "`baseline` needs a body taking (record, baseline)",
                ));
            }
            quote!(::ktstr::harness::Body::Declarative(#name))
        }
        1 | 2 => {
            if a.scenario.is_none() && a.scenario_fn.is_none() {
                return Err(syn::Error::new(
                    Span::call_site(),
                    "an assertion body needs `scenario = \"NAME\"` or `scenario_fn = PATH`",
                ));
            }
            if (args == 2) != a.baseline.is_some() {
                return Err(syn::Error::new_spanned(
                    &f.sig.inputs,
                    "a body taking (record, baseline) needs `baseline = \"SCHEDULER\"`, and only it",
                ));
            }
            let wrapper = if args == 1 {
                quote!(|record: &::ktstr::RunRecord, _: ::core::option::Option<&::ktstr::RunRecord>| {
                    ::ktstr::harness::TestOutcome::into_result(#name(record))
                })
            } else {
                quote!(|record: &::ktstr::RunRecord, baseline: ::core::option::Option<&::ktstr::RunRecord>| {
                    let baseline = baseline.expect("the harness runs the baseline first");
                    ::ktstr::harness::TestOutcome::into_result(#name(record, baseline))
                })
            };
            quote!(::ktstr::harness::Body::Assert {
                scenario: #scenario_source,
                check: #wrapper,
            })
        }
        _ => {
            return Err(syn::Error::new_spanned(
                &f.sig.inputs,
                "a ktstr test takes no arguments, (record) or (record, baseline)",
            ))
        }
    };
    let topologies = &a.topologies;
    let schedulers = &a.schedulers;
    let baseline = opt_str(&a.baseline);
    let kernel = opt_str(&a.kernel);
    let expect_fail = opt_str(&a.expect_fail);
    let duration = opt_int(&a.duration_ms);
    let memory = opt_int(&a.memory_mib);
    Ok(quote! {
        #f

        ::ktstr::__private::inventory::submit! {
            ::ktstr::harness::TestDecl {
                name: #name_str,
                module: ::core::module_path!(),
                topologies: &[#(#topologies),*],
                schedulers: &[#(#schedulers),*],
                baseline: #baseline,
                duration_ms: #duration,
                memory_mib: #memory,
                kernel: #kernel,
                expect_fail: #expect_fail,
                body: #body,
            }
        }
    })
}

/// Registers `fn name(w: &mut ktstr::CustomWorker)` as a custom worker that
/// scenarios start with `WorkType::Custom { name: "name".into() }`; it runs
/// inside the VM, in the test binary acting as the guest's `/init`.
/// `#[ktstr::worker(name = "other")]` registers it under another name.
#[proc_macro_attribute]
pub fn worker(attr: TokenStream, item: TokenStream) -> TokenStream {
    match expand_worker(attr.into(), item.into()) {
        Ok(ts) => ts.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn expand_worker(
    attr: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> syn::Result<proc_macro2::TokenStream> {
    let f: ItemFn = syn::parse2(item)?;
    let ident = &f.sig.ident;
    let mut name = LitStr::new(&ident.to_string(), ident.span());
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("name") {
            name = meta.value()?.parse()?;
            Ok(())
        } else {
            Err(meta.error("unknown attribute; use name = \"...\""))
        }
    });
    parser.parse2(attr)?;
    if f.sig.inputs.len() != 1 {
        return Err(syn::Error::new_spanned(
            &f.sig.inputs,
            "a custom worker takes one argument: &mut ktstr::CustomWorker",
        ));
    }
    Ok(quote! {
        #f

        ::ktstr::__private::inventory::submit! {
            ::ktstr::harness::WorkerDecl { name: #name, run: #ident }
        }
    })
}
