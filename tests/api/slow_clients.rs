//! Slow and hostile connections against a real `vira serve` process: idle sockets, heads and
//! bodies trickled a byte at a time, more of them than the connection cap, and a process out of
//! file descriptors. None of them may keep a legitimate request waiting.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{
    create_admin_process, eventually, process_storage, Backend, Creds, Instance, OpenFiles,
};

/// TCP connections to `port` that the process `pid` holds open (its sockets, matched by inode in
/// `/proc/net/tcp*`), listening socket excluded.
fn server_connections(pid: u32, port: u16) -> usize {
    let mut inodes = std::collections::HashSet::new();
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return 0;
    };
    for fd in fds.flatten() {
        if let Ok(target) = std::fs::read_link(fd.path()) {
            let target = target.to_string_lossy().into_owned();
            if let Some(inode) = target
                .strip_prefix("socket:[")
                .and_then(|t| t.strip_suffix(']'))
            {
                inodes.insert(inode.to_owned());
            }
        }
    }
    let mut count = 0;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state), Some(inode)) = (cols.get(1), cols.get(3), cols.get(9))
            else {
                continue;
            };
            let local_port = local
                .rsplit_once(':')
                .and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
            // 0A is LISTEN.
            if local_port == Some(port) && *state != "0A" && inodes.contains(*inode) {
                count += 1;
            }
        }
    }
    count
}

/// Whether the server has closed this connection (EOF or reset), without sending anything.
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buf = [0u8; 512];
    loop {
        match tokio::time::timeout(Duration::from_millis(10), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

/// Send `head` now, then `tail` one byte every 200 ms until the server closes the connection;
/// returns how long that took and what the server answered.
async fn trickle(addr: std::net::SocketAddr, head: &str, tail: &[u8]) -> (Duration, Vec<u8>) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(head.as_bytes()).await.expect("write head");
    let mut answer = Vec::new();
    for byte in tail.iter().cycle() {
        if stream.write_all(&[*byte]).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut buf = [0u8; 1024];
        match tokio::time::timeout(Duration::from_millis(1), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
        if started.elapsed() > Duration::from_secs(20) {
            panic!("the server never dropped a trickling connection");
        }
    }
    // Whatever the server still sent before closing.
    let _ = tokio::time::timeout(Duration::from_millis(200), stream.read_to_end(&mut answer)).await;
    (started.elapsed(), answer)
}

/// A legitimate request on a new connection; how long its answer took.
async fn legitimate_request(inst: &Instance, admin: &Creds) -> Duration {
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let started = Instant::now();
    let reply = client
        .get(inst.url("/api/analyses"))
        .basic_auth(&admin.login, Some(&admin.key))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect("legitimate request answered");
    assert_eq!(reply.status(), 200);
    started.elapsed()
}

const CAP: usize = 40;
const TIMEOUT_SECS: u64 = 2;

async fn slow_clients(backend: Backend) {
    let Some((dir, url, _pg)) = process_storage(backend).await else {
        return;
    };
    let admin = create_admin_process(dir.path(), &url).await;
    let timeout = TIMEOUT_SECS.to_string();
    let cap = CAP.to_string();
    let inst = Instance::start(
        dir.path(),
        &url,
        &[
            "--no-blast-worker",
            "--max-connections",
            &cap,
            "--header-timeout",
            &timeout,
            "--idle-timeout",
            &timeout,
            "--body-timeout",
            &timeout,
        ],
    )
    .await;
    for _ in 0..3 {
        legitimate_request(&inst, &admin).await;
    }
    let (pid, port) = (inst.pid(), inst.addr.port());
    eventually("the warm-up connections are closed", || {
        server_connections(pid, port) == 0
    })
    .await;

    // 30 idle connections, 15 trickling a request head, 10 trickling a body: 55 > the cap of 40.
    let mut idle = Vec::new();
    for _ in 0..30 {
        idle.push((Instant::now(), TcpStream::connect(inst.addr).await.unwrap()));
    }
    let head = "GET /api/analyses HTTP/1.1\r\nHost: vira\r\nX-Slow: ";
    let heads: Vec<_> = (0..15)
        .map(|_| tokio::spawn(trickle(inst.addr, head, b"a")))
        .collect();
    // J1 reads its JSON body before anything else: an anonymous client can reach it.
    let body_head =
        "PATCH /jobs-api/jobs/abcdefgh HTTP/1.1\r\nHost: vira\r\nContent-Length: 1000\r\n\r\n{";
    let bodies: Vec<_> = (0..10)
        .map(|_| tokio::spawn(trickle(inst.addr, body_head, b" ")))
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(server_connections(pid, port) <= CAP);

    // (b) Meanwhile legitimate requests are answered within a second.
    for _ in 0..5 {
        let took = legitimate_request(&inst, &admin).await;
        assert!(
            took < Duration::from_secs(1),
            "legitimate request took {took:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // (a) Every attacking connection is dropped within its timeout (plus scheduling slack).
    let limit = Duration::from_secs(TIMEOUT_SECS) + Duration::from_millis(1500);
    for (opened, stream) in &mut idle {
        loop {
            if closed_by_server(stream).await {
                break;
            }
            assert!(
                opened.elapsed() < limit,
                "an idle connection outlived the idle timeout"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    for task in heads {
        let (took, _) = task.await.unwrap();
        assert!(
            took < limit,
            "a trickled head kept its connection for {took:?}"
        );
    }
    for task in bodies {
        let (took, answer) = task.await.unwrap();
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.starts_with("HTTP/1.1 408"),
            "a trickled body got {answer:?}"
        );
        assert!(answer.contains("\"id\":\"request_timeout\""), "{answer}");
        assert!(
            took < limit,
            "a trickled body kept its connection for {took:?}"
        );
    }

    // (c) The server's connections return to the baseline.
    eventually("every attacking connection is closed by the server", || {
        server_connections(pid, port) == 0
    })
    .await;
    legitimate_request(&inst, &admin).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_dropped_and_never_lock_others_out_sqlite() {
    slow_clients(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_dropped_and_never_lock_others_out_postgres() {
    slow_clients(Backend::Postgres).await;
}

/// CPU time (user + system) of a process so far.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

async fn out_of_descriptors(backend: Backend) {
    let Some((dir, url, _pg)) = process_storage(backend).await else {
        return;
    };
    let admin = create_admin_process(dir.path(), &url).await;
    // 64 descriptors, and a cap far above: `accept` itself runs out of descriptors.
    let inst = Instance::start_limited(
        dir.path(),
        &url,
        &["--no-blast-worker", "--max-connections", "1000"],
        Some(OpenFiles::Both),
    )
    .await;
    legitimate_request(&inst, &admin).await;
    let pid = inst.pid();
    let mut hogs = Vec::new();
    for _ in 0..100 {
        hogs.push(TcpStream::connect(inst.addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = cpu_time(pid);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let spent = cpu_time(pid) - before;
    assert!(
        spent < Duration::from_millis(400),
        "the accept loop spun on EMFILE: {spent:?} of CPU in 2 s"
    );
    drop(hogs);
    // Descriptors come back as the server sees the hogs leave; the backoff is at most 1 s.
    let started = Instant::now();
    let took = loop {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let reply = client
            .get(inst.url("/api/analyses"))
            .basic_auth(&admin.login, Some(&admin.key))
            .timeout(Duration::from_secs(3))
            .send()
            .await;
        if matches!(&reply, Ok(r) if r.status() == 200) {
            break started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never recovered: {reply:?}"
        );
    };
    assert!(took < Duration::from_secs(4), "recovery took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_backs_off_when_out_of_descriptors_sqlite() {
    out_of_descriptors(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accept_backs_off_when_out_of_descriptors_postgres() {
    out_of_descriptors(Backend::Postgres).await;
}

/// The soft limit of open files of a process, and its hard limit.
fn open_file_limits(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("limits");
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .expect("open files line");
    let cols: Vec<&str> = line["Max open files".len()..].split_whitespace().collect();
    (cols[0].to_owned(), cols[1].to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_soft_open_file_limit_is_raised_to_the_hard_limit() {
    let (dir, url, _) = process_storage(Backend::Sqlite).await.unwrap();
    let inst = Instance::start_limited(
        dir.path(),
        &url,
        &["--no-blast-worker"],
        Some(OpenFiles::Soft),
    )
    .await;
    let (soft, hard) = open_file_limits(inst.pid());
    assert_ne!(soft, "256");
    assert_eq!(soft, hard);
}
