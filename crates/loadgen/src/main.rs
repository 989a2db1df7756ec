//! Load generator for `scripts/bench-sdk`: closed-loop HTTP/1.1 keep-alive POSTs of one
//! body to one URL over C connections on a single-threaded runtime, then a JSON line
//! `{"requests","errors","rps","p50_us","p99_us",...}`.
//!
//! ```text
//! loadgen URL BODY_FILE [SIGNING_KEY] [--key K] [--duration S] [--warmup S] [--connections C]
//!         [--expect-status CODE] [--expect-id ID] [--expect-data JSON] [--header 'K: V']...
//!         [--request-timeout SECS (60)] [--method POST]
//! loadgen body --n N [--hash sdk|official] [--out FILE]   # write a request body, print step-N's id
//! loadgen sign --key K --body FILE [--t UNIX]             # print an X-Inngest-Signature value
//! ```
//!
//! With `--expect-id` (or `--expect-status`), one request is sent first and must answer the
//! expected status with a JSON array of exactly one `StepRun` op whose `id` is ID (and
//! whose `data` is `--expect-data`, when given); otherwise the run aborts with exit code 3
//! before any timing. During the timed run a response counts as a success only when its
//! status is the expected one (default 206) and, with `--expect-id`, its body contains ID;
//! everything else (other statuses, transport errors, no answer within --request-timeout)
//! counts as an error. Counted are the requests started after the warm-up and before the end
//! of the duration; the run waits for those in flight, and `rps` divides by the time from the
//! end of the warm-up to the last answer. Latencies are of the successful ones.

mod body;
mod sign;

use std::{
    net::ToSocketAddrs,
    process::exit,
    rc::Rc,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use bytes::Bytes;
use http::{header, HeaderName, HeaderValue, Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

fn usage() -> ! {
    eprintln!(
        "usage: loadgen URL BODY_FILE [SIGNING_KEY] [--key K] [--duration SECS] [--warmup SECS] \
         [--connections N] [--expect-status CODE] [--expect-id ID] [--expect-data JSON] [--header 'K: V']... \
         [--request-timeout SECS] [--method M]\n\
         \x20      loadgen body --n N [--hash sdk|official] [--out FILE]\n\
         \x20      loadgen sign --key K --body FILE [--t UNIX]"
    );
    exit(2)
}

fn die(msg: impl std::fmt::Display) -> ! {
    eprintln!("loadgen: {msg}");
    exit(2)
}

/// Splits argv into positionals and `--flag value` pairs (repeatable flags keep order).
fn parse_args(args: &[String]) -> (Vec<String>, Vec<(String, String)>) {
    let mut pos = Vec::new();
    let mut flags = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "-h" || a == "--help" {
            usage();
        }
        if let Some(name) = a.strip_prefix("--") {
            let (name, value) = match name.split_once('=') {
                Some((n, v)) => (n.to_string(), v.to_string()),
                None => match it.next() {
                    Some(v) => (name.to_string(), v.clone()),
                    None => die(format!("--{name} needs a value")),
                },
            };
            flags.push((name, value));
        } else {
            pos.push(a.clone());
        }
    }
    (pos, flags)
}

fn flag<'a>(flags: &'a [(String, String)], name: &str) -> Option<&'a str> {
    flags
        .iter()
        .rev()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn check_flags(flags: &[(String, String)], allowed: &[&str]) {
    for (n, _) in flags {
        if !allowed.contains(&n.as_str()) {
            die(format!("unknown option --{n}"));
        }
    }
}

fn parse_num<T: std::str::FromStr>(flags: &[(String, String)], name: &str, default: T) -> T {
    match flag(flags, name) {
        None => default,
        Some(v) => v
            .parse()
            .unwrap_or_else(|_| die(format!("--{name}: not a number: {v}"))),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None => usage(),
        Some("body") => cmd_body(&args[1..]),
        Some("sign") => cmd_sign(&args[1..]),
        Some(_) => cmd_run(&args),
    }
}

fn cmd_body(args: &[String]) {
    let (pos, flags) = parse_args(args);
    check_flags(&flags, &["n", "hash", "out"]);
    if !pos.is_empty() {
        usage();
    }
    let n: u64 = flag(&flags, "n")
        .unwrap_or_else(|| die("body: --n is required"))
        .parse()
        .unwrap_or_else(|_| die("body: --n must be a number"));
    let scheme = body::HashScheme::parse(flag(&flags, "hash").unwrap_or("sdk"))
        .unwrap_or_else(|| die("body: --hash must be sdk or official"));
    let text = body::request_body(n, scheme);
    match flag(&flags, "out") {
        Some(path) => {
            std::fs::write(path, text).unwrap_or_else(|e| die(format!("writing {path}: {e}")));
            println!("{}", scheme.step_id(&format!("step-{n}")));
        }
        None => println!("{text}"),
    }
}

fn cmd_sign(args: &[String]) {
    let (pos, flags) = parse_args(args);
    check_flags(&flags, &["key", "body", "t"]);
    if !pos.is_empty() {
        usage();
    }
    let key = flag(&flags, "key").unwrap_or_else(|| die("sign: --key is required"));
    let path = flag(&flags, "body").unwrap_or_else(|| die("sign: --body is required"));
    let body = std::fs::read(path).unwrap_or_else(|e| die(format!("reading {path}: {e}")));
    let t = parse_num(&flags, "t", unix_now());
    println!("{}", sign::signature(key, &body, t));
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

struct Target {
    addr: std::net::SocketAddr,
    method: Method,
    uri: Uri,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
    expect_status: u16,
    expect_id: Option<Vec<u8>>,
    request_timeout: Duration,
}

impl Target {
    fn request(&self) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(self.body.clone()));
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = self.uri.clone();
        let h = req.headers_mut();
        for (k, v) in &self.headers {
            h.append(k.clone(), v.clone());
        }
        req
    }

    fn success(&self, status: u16, body: &[u8]) -> bool {
        status == self.expect_status
            && match &self.expect_id {
                None => true,
                Some(id) => body.windows(id.len()).any(|w| w == id.as_slice()),
            }
    }
}

#[derive(Default)]
struct Stats {
    ok: u64,
    errors: u64,
    lat_us: Vec<u32>,
    last_error: Option<String>,
}

fn cmd_run(args: &[String]) {
    let (pos, flags) = parse_args(args);
    check_flags(
        &flags,
        &[
            "key",
            "duration",
            "warmup",
            "connections",
            "expect-status",
            "expect-id",
            "expect-data",
            "header",
            "method",
            "request-timeout",
        ],
    );
    if pos.len() < 2 || pos.len() > 3 {
        usage();
    }
    let url: Uri = pos[0]
        .parse()
        .unwrap_or_else(|e| die(format!("bad URL {}: {e}", pos[0])));
    if url.scheme_str() != Some("http") {
        die("only http:// URLs are supported");
    }
    let host = url
        .host()
        .unwrap_or_else(|| die("URL has no host"))
        .to_string();
    let port = url.port_u16().unwrap_or(80);
    let addr = (host.trim_start_matches('[').trim_end_matches(']'), port)
        .to_socket_addrs()
        .unwrap_or_else(|e| die(format!("resolving {host}: {e}")))
        .next()
        .unwrap_or_else(|| die(format!("{host} resolves to nothing")));
    let path = url
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let body_bytes =
        std::fs::read(&pos[1]).unwrap_or_else(|e| die(format!("reading {}: {e}", pos[1])));
    let key = flag(&flags, "key")
        .map(str::to_string)
        .or_else(|| pos.get(2).cloned())
        .filter(|k| !k.is_empty());
    let duration = parse_num(&flags, "duration", 3.0f64);
    let warmup = parse_num(&flags, "warmup", 0.5f64);
    let connections = parse_num(&flags, "connections", 8usize).max(1);
    let expect_status = parse_num(&flags, "expect-status", 206u16);
    let expect_id = flag(&flags, "expect-id").map(str::to_string);
    let expect_data = flag(&flags, "expect-data").map(|d| {
        serde_json::from_str::<serde_json::Value>(d)
            .unwrap_or_else(|e| die(format!("--expect-data is not JSON: {e}")))
    });
    let method: Method = flag(&flags, "method")
        .unwrap_or("POST")
        .parse()
        .unwrap_or_else(|_| die("bad --method"));

    let mut headers = vec![
        (
            header::HOST,
            HeaderValue::from_str(url.authority().expect("URL has a host").as_str())
                .unwrap_or_else(|_| die("bad host")),
        ),
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        ),
    ];
    if let Some(key) = &key {
        // valid for 5 minutes on the server side: computed once for the whole run
        let sig = sign::signature(key, &body_bytes, unix_now());
        headers.push((
            HeaderName::from_static("x-inngest-signature"),
            HeaderValue::from_str(&sig).expect("signature is ASCII"),
        ));
    }
    for (n, v) in flags.iter().filter(|(n, _)| n == "header") {
        let (k, val) = v
            .split_once(':')
            .unwrap_or_else(|| die(format!("--header {v}: expected 'Name: value'")));
        headers.push((
            HeaderName::from_bytes(k.trim().as_bytes())
                .unwrap_or_else(|_| die(format!("--{n}: bad header name {k}"))),
            HeaderValue::from_str(val.trim())
                .unwrap_or_else(|_| die(format!("--{n}: bad header value"))),
        ));
    }

    let target = Rc::new(Target {
        addr,
        method,
        uri: path.parse().unwrap_or_else(|_| die("bad path")),
        headers,
        body: Bytes::from(body_bytes),
        expect_status,
        expect_id: expect_id.clone().map(String::into_bytes),
        request_timeout: Duration::from_secs_f64(parse_num(&flags, "request-timeout", 60.0f64)),
    });

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        if expect_id.is_some() || flag(&flags, "expect-status").is_some() {
            if let Err(e) = verify(&target, expect_id.as_deref(), expect_data.as_ref()).await {
                eprintln!("loadgen: verification request failed: {e}");
                exit(3);
            }
        }
        let start = Instant::now();
        let measure_from = start + Duration::from_secs_f64(warmup);
        let end = measure_from + Duration::from_secs_f64(duration);
        let mut tasks = Vec::with_capacity(connections);
        for _ in 0..connections {
            tasks.push(tokio::task::spawn_local(connection(
                target.clone(),
                measure_from,
                end,
            )));
        }
        let mut all = Stats::default();
        for t in tasks {
            let s = t.await.expect("connection task");
            all.ok += s.ok;
            all.errors += s.errors;
            all.lat_us.extend(s.lat_us);
            if s.last_error.is_some() {
                all.last_error = s.last_error;
            }
        }
        let measured = Instant::now()
            .saturating_duration_since(measure_from)
            .as_secs_f64()
            .max(1e-9);
        all.lat_us.sort_unstable();
        let pct = |p: f64| -> u32 {
            if all.lat_us.is_empty() {
                return 0;
            }
            let rank = ((p * all.lat_us.len() as f64).ceil() as usize).clamp(1, all.lat_us.len());
            all.lat_us[rank - 1]
        };
        let mean = if all.lat_us.is_empty() {
            0.0
        } else {
            all.lat_us.iter().map(|&v| v as f64).sum::<f64>() / all.lat_us.len() as f64
        };
        let mut out = serde_json::json!({
            "requests": all.ok,
            "errors": all.errors,
            "rps": (all.ok as f64 / measured * 10.0).round() / 10.0,
            "p50_us": pct(0.50),
            "p99_us": pct(0.99),
            "mean_us": mean.round(),
            "max_us": all.lat_us.last().copied().unwrap_or(0),
            "seconds": (measured * 1000.0).round() / 1000.0,
            "connections": connections,
        });
        if let Some(e) = all.last_error {
            out["last_error"] = serde_json::Value::String(e);
        }
        println!("{out}");
    });
}

async fn connect(t: &Target) -> Result<SendRequest<Full<Bytes>>, String> {
    let stream = TcpStream::connect(t.addr)
        .await
        .map_err(|e| format!("connect {}: {e}", t.addr))?;
    stream.set_nodelay(true).ok();
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::task::spawn_local(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

async fn send(sender: &mut SendRequest<Full<Bytes>>, t: &Target) -> Result<(u16, Bytes), String> {
    sender
        .ready()
        .await
        .map_err(|e| format!("connection: {e}"))?;
    let resp = sender
        .send_request(t.request())
        .await
        .map_err(|e| format!("request: {e}"))?;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?
        .to_bytes();
    Ok((status, body))
}

async fn verify(
    t: &Target,
    expect_id: Option<&str>,
    expect_data: Option<&serde_json::Value>,
) -> Result<(), String> {
    let mut sender = connect(t).await?;
    let (status, body) = tokio::time::timeout(t.request_timeout, send(&mut sender, t))
        .await
        .map_err(|_| format!("no response within {:?}", t.request_timeout))??;
    let text = String::from_utf8_lossy(&body);
    let shown: String = text.chars().take(600).collect();
    if status != t.expect_status {
        return Err(format!(
            "status {status}, expected {}; body: {shown}",
            t.expect_status
        ));
    }
    let Some(id) = expect_id else { return Ok(()) };
    let v: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| format!("body is not JSON ({e}): {shown}"))?;
    let ops = v
        .as_array()
        .ok_or_else(|| format!("body is not an array of ops: {shown}"))?;
    if ops.len() != 1 {
        return Err(format!(
            "expected exactly one op, got {}: {shown}",
            ops.len()
        ));
    }
    let op = &ops[0];
    if op["op"] != "StepRun" {
        return Err(format!("expected a StepRun op: {shown}"));
    }
    if op["id"] != id {
        return Err(format!("expected op id {id}: {shown}"));
    }
    if let Some(d) = expect_data {
        if &op["data"] != d {
            return Err(format!("expected op data {d}: {shown}"));
        }
    }
    Ok(())
}

async fn connection(t: Rc<Target>, measure_from: Instant, end: Instant) -> Stats {
    let mut stats = Stats::default();
    let mut sender: Option<SendRequest<Full<Bytes>>> = None;
    while Instant::now() < end {
        let s = match sender.as_mut() {
            Some(s) => s,
            None => match connect(&t).await {
                Ok(s) => sender.insert(s),
                Err(e) => {
                    stats.errors += 1;
                    stats.last_error = Some(e);
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let t0 = Instant::now();
        let result = match tokio::time::timeout(t.request_timeout, send(s, &t)).await {
            Ok(r) => r,
            Err(_) => Err(format!("no response within {:?}", t.request_timeout)),
        };
        let done = Instant::now();
        // requests started inside the window count, even when they finish after it (the
        // run waits for them: a slow server still gets a latency and a rate); warm-up
        // ones are discarded
        let counted = t0 >= measure_from;
        match result {
            Ok((status, body)) => {
                if t.success(status, &body) {
                    if counted {
                        stats.ok += 1;
                        let us = done.duration_since(t0).as_micros();
                        stats.lat_us.push(us.min(u32::MAX as u128) as u32);
                    }
                } else {
                    if counted {
                        stats.errors += 1;
                    }
                    let shown: String = String::from_utf8_lossy(&body).chars().take(200).collect();
                    stats.last_error = Some(format!("status {status}: {shown}"));
                }
            }
            Err(e) => {
                if counted {
                    stats.errors += 1;
                }
                stats.last_error = Some(e);
                sender = None;
            }
        }
    }
    stats
}
