//! Builds the default kernel into the default cache and prints its entry.
//!
//! `cargo run -p ktstr-kernel --example build [-- [--force] [--id] [--source DIR | --tarball FILE]]`
//!
//! `--id` prints the cache id the build would get, and whether it is cached, without building.

use std::path::PathBuf;

use ktstr_kernel::{indicatif_progress, BuildOptions, KernelCache, KernelSource};

fn main() -> anyhow::Result<()> {
    let mut opts = BuildOptions::default();
    let mut id_only = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--force" => opts.force = true,
            "--id" => id_only = true,
            "--source" => {
                let dir = args
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("--source needs a DIR"))?;
                opts.source = KernelSource::Tree(PathBuf::from(dir));
            }
            "--tarball" => {
                let file = args
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("--tarball needs a FILE"))?;
                opts.source = KernelSource::DebianTarball(PathBuf::from(file));
            }
            other => anyhow::bail!("unknown argument `{other}`"),
        }
    }
    let cache = KernelCache::default_location()?;
    if id_only {
        let id = ktstr_kernel::cache_id(&opts.source)?;
        let cached = cache.get(&id).is_ok();
        println!("{id} cached={cached} cache={}", cache.root().display());
        return Ok(());
    }
    let kernel = cache.build(&opts, &mut indicatif_progress())?;
    println!("{}", serde_json::to_string_pretty(&kernel)?);
    Ok(())
}
