//! The guest runtime binary, packed as `/init` in every test VM.

fn main() {
    if std::process::id() != 1 {
        eprintln!("ktstr-guest: this is the init process of a ktstr test VM; it only runs as PID 1 inside one (see `ktstr boot`)");
        std::process::exit(2);
    }
    ktstr_guest::run_as_init();
}
