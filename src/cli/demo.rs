//! `numinv demo` and `numinv sim`: the product against the bundled simulator.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use numinv_sim::{ServeOptions, SimConfig, Simulator};

use super::connections::sync_line;
use super::Global;
use crate::arm::Secret;
use crate::clock::{Clock, FnClock};
use crate::daemon::{Ran, Scheduler, SchedulerOptions};
use crate::domain::connection::{AuthMethod, Connection};
use crate::domain::{Status, Vendor};
use crate::ops::{self, Ctx};
use crate::store::{EntryFilter, Store};
use crate::sync::{engine, SyncOptions};

/// The simulated estate.
#[derive(Debug, clap::Args)]
pub struct Population {
    /// Registered users.
    #[arg(long, default_value_t = 5000)]
    pub users: usize,
    /// SBC nodes.
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    /// The same seed gives the same estate and the same churn.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

impl Population {
    fn simulator(&self) -> Simulator {
        Simulator::new(SimConfig {
            seed: self.seed,
            users: self.users,
            nodes: self.nodes,
            ..SimConfig::default()
        })
    }
}

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub population: Population,
    /// Virtual minutes per real minute (1440: a virtual day per minute).
    #[arg(long, default_value_t = 1440)]
    pub speed: u64,
    /// Stop after this long (e.g. 30s, 5m); default: until Ctrl-C.
    #[arg(long, value_parser = parse_duration)]
    pub run_for: Option<Duration>,
    /// Real seconds between steps of virtual time (each step may run the schedule).
    #[arg(long, default_value_t = 2)]
    pub sync_every_s: u64,
    /// Address of the web UI and API.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
}

#[derive(Debug, clap::Args)]
pub struct SimArgs {
    #[command(flatten)]
    pub population: Population,
    /// HTTPS listen address.
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub https: std::net::SocketAddr,
    /// Plain HTTP listen address (off unless given).
    #[arg(long)]
    pub http: Option<std::net::SocketAddr>,
    /// Virtual minutes per real minute of automatic churn (0: only /sim/advance moves time).
    #[arg(long, default_value_t = 0)]
    pub speed: u64,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    crate::domain::connection::parse_interval(s)
        .map(Duration::from_secs)
        .or_else(|_| {
            s.trim_end_matches('s')
                .parse::<u64>()
                .map(Duration::from_secs)
                .map_err(|_| format!("{s:?} is not a duration like 30s or 5m"))
        })
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// `numinv sim`: serve the simulator until Ctrl-C.
pub fn run_sim(args: SimArgs) -> anyhow::Result<String> {
    let rt = runtime()?;
    rt.block_on(async {
        let sim = args.population.simulator();
        let running = sim
            .serve(ServeOptions {
                http: args.http,
                https: Some(args.https),
            })
            .await?;
        println!(
            "simulator: {} users on {} nodes (seed {})",
            args.population.users, args.population.nodes, args.population.seed
        );
        if let Some(u) = &running.http_url {
            println!("  http:  {u}   (base path /ARM/v1)");
        }
        if let Some(u) = &running.https_url {
            println!("  https: {u}   (base path /ARM/v1; give this URL to --url)");
        }
        println!(
            "  certificate sha256 (for --pin-sha256): {}",
            running.cert_sha256_hex
        );
        println!("  credentials: admin / sim-password; control API under /sim/ (GET /sim/truth)");
        let _clock = (args.speed > 0)
            .then(|| sim.spawn_auto_advance((args.speed / 60).max(1), Duration::from_secs(1)));
        tokio::signal::ctrl_c().await?;
        running.shutdown().await;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok("simulator stopped\n".into())
}

/// `numinv demo`: simulator + store + syncs on accelerated virtual time, with live lines.
pub fn run_demo(g: &Global, args: DemoArgs) -> anyhow::Result<String> {
    let temp;
    let data_dir = match &g.data_dir {
        Some(d) => d.clone(),
        None => {
            temp = tempfile_dir()?;
            temp.0.clone()
        }
    };
    let rt = runtime()?;
    rt.block_on(demo(g, &args, &data_dir))
}

/// A temporary directory removed on drop (the demo's default data dir).
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempfile_dir() -> anyhow::Result<TempDir> {
    let base = std::env::temp_dir().join(format!("numinv-demo-{}", std::process::id()));
    std::fs::create_dir_all(&base)?;
    Ok(TempDir(base))
}

async fn demo(g: &Global, args: &DemoArgs, data_dir: &std::path::Path) -> anyhow::Result<String> {
    let sim = args.population.simulator();
    let running = sim
        .serve(ServeOptions {
            http: None,
            https: Some("127.0.0.1:0".parse()?),
        })
        .await?;
    let store = Arc::new(Store::open(
        data_dir,
        Duration::from_millis(g.lock_wait_ms),
    )?);
    // The store's clock is the simulator's virtual clock: cooling and release dates follow
    // the accelerated days.
    let sim_clock = sim.clone();
    let clock: Arc<dyn Clock> = Arc::new(FnClock(move || sim_clock.now()));
    // A kept data dir may hold changes from a later virtual time than the simulator starts
    // at: move the simulator past them, so the log's time never runs backwards.
    if let Some(last) = last_change_at(&store)? {
        let behind_min = (last - sim.now()).num_minutes();
        if behind_min >= 0 {
            sim.advance(behind_min as u64 + 1);
        }
    }
    println!(
        "numinv demo: simulated ARM at {}/ARM/v1 ({} users, {} nodes, seed {})",
        running.https_url.clone().unwrap_or_default(),
        args.population.users,
        args.population.nodes,
        args.population.seed
    );
    println!("data dir: {}", data_dir.display());

    let ctx = Ctx::new(&store, clock.now(), "cli");
    let token_name = format!("demo-{}", std::process::id());
    let (token, _) = ops::tokens::create(&ctx, &token_name, ops::tokens::Role::Admin)?;
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            println!(
                "cannot listen on {} ({e}); using a free port instead",
                args.listen
            );
            tokio::net::TcpListener::bind("127.0.0.1:0").await?
        }
    };
    let web = format!("http://{}", listener.local_addr()?);
    store.announce_server("numinv demo", &web);
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(crate::api::serve(
        listener,
        crate::api::ApiState::new(store.clone(), clock.clone()),
        async move {
            let _ = stop_rx.wait_for(|s| *s).await;
        },
    ));
    println!("web UI: {web}/   admin token: {token}");

    let conn = Connection {
        name: "demo".into(),
        url: running.https_url.clone().unwrap_or_default(),
        base_path: "/ARM/v1".into(),
        username: "admin".into(),
        auth_method: AuthMethod::Basic,
        token_url: None,
        scope: None,
        ca_pem: None,
        pin_sha256: Some(running.cert_sha256_hex.clone()),
        hierarchy: "Provider/Contoso/London".into(),
        region: Some("GB".into()),
        sync_on_save: true,
        page_size: 1000,
        timeout_ms: 10_000,
    };
    let password = Secret::from("sim-password");
    if ops::connections::get(&store.read()?, &conn.name).is_ok() {
        // A kept data dir: this run's simulator has a new port and a new certificate.
        println!(
            "data dir already holds connection {}: pointing it at this simulator",
            conn.name
        );
        ops::connections::update(&ctx, conn.clone(), Some(&password))?;
    } else {
        ops::connections::add(&ctx, conn.clone(), &password)?;
    }
    // Sync on save: the first sync, with a progress bar.
    let total = args.population.users.max(1);
    let mut bar = |p: crate::arm::PageProgress| {
        let done = (p.users * 30 / total).min(30);
        print!(
            "\rfirst sync [{}{}] {} users",
            "#".repeat(done),
            ".".repeat(30 - done),
            p.users
        );
        let _ = std::io::stdout().flush();
    };
    let tx = engine::run_sync(
        &store,
        clock.as_ref(),
        &conn,
        SyncOptions::default(),
        &mut bar,
    )
    .await?;
    println!();
    print!("first sync done: {}", sync_line(&tx));
    ops::connections::set_schedule(
        &Ctx::new(&store, clock.now(), "cli"),
        &conn.schedule_name(),
        Some(15 * 60),
        Some(true),
    )?;
    let started = Instant::now();
    let step = Duration::from_secs(args.sync_every_s.max(1));
    let virtual_minutes_per_step = (args.speed * step.as_secs() / 60).max(1);
    println!(
        "schedule {} active every 15 virtual minutes; time moves {} virtual minutes every {} s, so it syncs once a step (Ctrl-C stops)",
        conn.schedule_name(),
        virtual_minutes_per_step,
        step.as_secs()
    );
    let mut scheduler = Scheduler::new(SchedulerOptions {
        tick: step,
        expiry_every: chrono::Duration::hours(1),
    });
    let mut ticker = tokio::time::interval(step);
    ticker.tick().await;
    let mut syncs_failed = 0u64;
    let mut first_failure = None;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = tokio::signal::ctrl_c() => break,
        }
        sim.advance(virtual_minutes_per_step);
        let mut released = 0;
        for ran in scheduler.run_due(&store, clock.as_ref()).await {
            match ran {
                Ran::Expiry { released: r, .. } => released += r,
                Ran::Sync { result: Ok(t), .. } => {
                    let counts = store.read()?.status_counts()?;
                    println!(
                        "{} sync: {} users, Used {}, Cooling {}, Available {}, restored {}, released {}, conflicts {}",
                        clock.now().format("%Y-%m-%d %H:%M"),
                        t.get("users_total"),
                        counts[&Status::Used],
                        counts[&Status::Cooling],
                        counts[&Status::Available],
                        t.get("entries_restored"),
                        released,
                        t.get("conflicts"),
                    );
                }
                Ran::Sync { result: Err(e), .. } => {
                    println!("{} sync failed: {e}", clock.now().format("%Y-%m-%d %H:%M"));
                    syncs_failed += 1;
                    first_failure.get_or_insert_with(|| e.to_string());
                }
            }
        }
        if args.run_for.is_some_and(|d| started.elapsed() >= d) {
            break;
        }
    }
    // Heal: one last sync and sweep so the summary compares like with like.
    engine::run_sync(
        &store,
        clock.as_ref(),
        &conn,
        SyncOptions { force: true },
        &mut |_| {},
    )
    .await?;
    ops::admin::expire(&Ctx::new(&store, clock.now(), "expiry"))?;
    let summary = compare_with_truth(&store, &sim, &conn);
    let _ = stop_tx.send(true);
    let _ = server.await;
    running.shutdown().await;
    match (summary, first_failure) {
        (Ok(line), Some(first)) => anyhow::bail!(
            "{}, but {syncs_failed} scheduled sync(s) failed, the first with: {first}",
            line.trim_end()
        ),
        (summary, _) => summary,
    }
}

/// The time of the store's last change, if it has any.
fn last_change_at(store: &Store) -> anyhow::Result<Option<chrono::DateTime<chrono::Utc>>> {
    let (head_seq, _) = store.head()?;
    let last = store.read()?.events(head_seq.saturating_sub(1), 1)?;
    Ok(last.first().map(|e| e.at))
}

/// The final check: every held number Used/Device/AudioCodes; every AudioCodes number not
/// held is Cooling (not yet due) or back to Available.
fn compare_with_truth(store: &Store, sim: &Simulator, conn: &Connection) -> anyhow::Result<String> {
    let truth = sim.truth();
    let key = |n: &str| crate::domain::entry_key(n, &conn.hierarchy);
    let held: BTreeSet<String> = truth.held.iter().map(|n| key(n)).collect();
    let reader = store.read()?;
    let mut wrong = Vec::new();
    for k in &held {
        match reader.entry(k)? {
            Some(e) if e.is_audiocodes_device() => {}
            other => wrong.push(format!(
                "{k} is held but {}",
                other
                    .map(|e| e.status.to_string())
                    .unwrap_or("missing".into())
            )),
        }
    }
    let mut cooling = 0;
    for e in reader.entries(&EntryFilter::default())? {
        if held.contains(&e.key()) {
            continue;
        }
        match (e.status, &e.vendor) {
            (Status::Used, Vendor::AudioCodes) => {
                wrong.push(format!("{} is Used but no device holds it", e.number))
            }
            (Status::Cooling, _) => cooling += 1,
            _ => {}
        }
    }
    let counts = reader.status_counts()?;
    let verdict = if wrong.is_empty() {
        "matches the simulator's ground truth".to_string()
    } else {
        format!("DIFFERS from the ground truth: {}", wrong.join("; "))
    };
    let line = format!(
        "summary at {}: {} held numbers Used, {} Cooling, {} Available; inventory {}\n",
        truth.now.format("%Y-%m-%d %H:%M"),
        counts[&Status::Used],
        cooling,
        counts[&Status::Available],
        verdict
    );
    if wrong.is_empty() {
        Ok(line)
    } else {
        anyhow::bail!("{}", line.trim_end())
    }
}
