//! The "no system calls, no locks" half of the real-time contract, checked by the kernel: a child
//! process loads models, then enters seccomp strict mode (only read, write, _exit and sigreturn
//! are allowed; any other system call — mmap/brk from an allocation, futex from a lock, a clock
//! read — kills it with SIGKILL) and processes audio. It reports through write(2) and leaves with
//! _exit(2). Linux only; harness = false because the libtest harness's own threads would make
//! "the only thread exits" untrue.

mod common;

use std::process::Command;

use nam_rs::{Model, NamModel};

const CHILD_ENV: &str = "NAM_RS_SECCOMP_CHILD";
const MODELS: [&str; 6] =
    ["wavenet_standard", "wavenet_a2_condition_dsp", "lstm_2x8", "convnet_batchnorm", "linear_long", "linear_short"];

#[cfg(target_os = "linux")]
mod sys {
    use std::ffi::c_int;

    extern "C" {
        pub fn prctl(option: c_int, arg2: std::ffi::c_ulong, ...) -> c_int;
        pub fn write(fd: c_int, buf: *const u8, count: usize) -> isize;
        pub fn syscall(number: std::ffi::c_long, ...) -> std::ffi::c_long;
    }
    pub const PR_SET_SECCOMP: c_int = 22;
    pub const SECCOMP_MODE_STRICT: std::ffi::c_ulong = 1;
    #[cfg(target_arch = "x86_64")]
    pub const SYS_EXIT: std::ffi::c_long = 60;
    #[cfg(target_arch = "aarch64")]
    pub const SYS_EXIT: std::ffi::c_long = 93;
}

#[cfg(target_os = "linux")]
fn child() -> ! {
    // Everything that may allocate or call the kernel happens before strict mode.
    let input: Vec<f32> = (0..48_000).map(|i| 0.5 * (i as f32 * 0.013).sin() + 0.2 * (i as f32 * 0.31).sin()).collect();
    let mut jobs: Vec<(Model, Vec<f32>, Vec<f32>)> = MODELS
        .iter()
        .map(|name| {
            let path = common::fixtures_dir().join("models").join(format!("{name}.nam"));
            let nam = NamModel::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
            let model = Model::from_nam(&nam).unwrap_or_else(|e| panic!("{e}"));
            let expected = model.render(&input);
            (model, input.clone(), expected)
        })
        .collect();
    let mut report = [b'.'; MODELS.len() + 1];
    report[MODELS.len()] = b'\n';
    // SAFETY: plain system calls with valid arguments.
    unsafe {
        if sys::prctl(sys::PR_SET_SECCOMP, sys::SECCOMP_MODE_STRICT) != 0 {
            sys::write(1, b"E\n".as_ptr(), 2);
            sys::syscall(sys::SYS_EXIT, 3);
        }
    }
    if std::env::var_os(CHILD_ENV).is_some_and(|v| v == "control") {
        // Must-fail control: a large allocation maps memory, which strict mode forbids.
        let big: Vec<u8> = Vec::with_capacity(64 << 20);
        std::hint::black_box(big);
    }
    for (k, (model, buffer, expected)) in jobs.iter_mut().enumerate() {
        // Blocks of 1, 64, 1000 and the rest; reset, and once more in one call.
        let (a, rest) = buffer.split_at_mut(1);
        model.process_buffer(a);
        let (b, rest) = rest.split_at_mut(64);
        model.process_buffer(b);
        let (c, d) = rest.split_at_mut(1000);
        model.process_buffer(c);
        model.process_buffer(d);
        let mut ok = buffer == expected;
        model.reset();
        buffer.copy_from_slice(&input);
        model.process_buffer(buffer);
        ok &= buffer == expected;
        report[k] = if ok { b'+' } else { b'x' };
    }
    // SAFETY: as above; _exit(2) of the only thread ends the process.
    unsafe {
        sys::write(1, report.as_ptr(), report.len());
        sys::syscall(sys::SYS_EXIT, 0);
    }
    unreachable!("_exit returned")
}

fn main() {
    if !cfg!(target_os = "linux") {
        eprintln!("seccomp: SKIPPED (Linux only)");
        return;
    }
    #[cfg(target_os = "linux")]
    if std::env::var_os(CHILD_ENV).is_some() {
        child();
    }
    use std::os::unix::process::ExitStatusExt;
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
    // The mechanism first: a child that allocates in strict mode must be killed.
    let control = Command::new(&exe).env(CHILD_ENV, "control").output().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        control.status.signal(),
        Some(9),
        "self-check failed: an allocation under seccomp strict mode was not killed ({:?}); this test cannot be trusted",
        control.status
    );
    let out = Command::new(&exe).env(CHILD_ENV, "1").output().unwrap_or_else(|e| panic!("{e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the child died under seccomp strict mode (status {:?}, signal {:?}): a system call on the \
         processing path. stdout {stdout:?}, stderr {}",
        out.status.code(),
        out.status.signal(),
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout.trim();
    assert_eq!(line.len(), MODELS.len(), "child report {line:?}");
    for (name, mark) in MODELS.iter().zip(line.chars()) {
        assert_eq!(mark, '+', "{name}: output under seccomp differs from the render");
    }
    eprintln!("seccomp: {} models processed in strict mode with no system call ({line})", MODELS.len());
}
