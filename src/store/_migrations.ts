/**
 * Versioned schema. Migration N brings the database from user_version N-1 to N; never edit a shipped
 * migration, append a new one. Times are ms since the epoch (REAL), durations µs, sizes bytes or KiB as named.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: runs, processes, samples, system metrics
  `
  CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    pipeline TEXT NOT NULL,
    command TEXT NOT NULL,            -- JSON array
    cwd TEXT NOT NULL,
    host TEXT NOT NULL,
    mode TEXT NOT NULL,               -- capture mode
    recorder_pid INTEGER NOT NULL,
    started_at REAL NOT NULL,
    ended_at REAL,
    exit_code INTEGER,
    signal INTEGER,
    events_lost INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL DEFAULT 'running'  -- running | done | failed
  );
  CREATE INDEX runs_started ON runs(started_at);

  CREATE TABLE processes (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    pid INTEGER NOT NULL,
    start_ticks INTEGER NOT NULL,     -- /proc/PID/stat field 22: with pid, the identity
    ppid INTEGER,
    parent_id INTEGER,                -- processes.id of the parent when it is in the run
    comm TEXT,
    argv TEXT,                        -- JSON array
    cwd TEXT,
    cgroup TEXT,
    started_at REAL,
    ended_at REAL,
    duration_us INTEGER,
    exit_code INTEGER,
    signal INTEGER,
    core_dumped INTEGER NOT NULL DEFAULT 0,
    oom_killed INTEGER NOT NULL DEFAULT 0,
    user_us INTEGER,
    system_us INTEGER,
    peak_rss_kb INTEGER,
    rchar INTEGER,
    wchar INTEGER,
    read_bytes INTEGER,
    write_bytes INTEGER,
    figures TEXT,                     -- where the final figures came from: taskstats | wait4 | proc
    UNIQUE (run_id, pid, start_ticks)
  );
  CREATE INDEX processes_run ON processes(run_id);

  CREATE TABLE samples (
    process_id INTEGER NOT NULL REFERENCES processes(id) ON DELETE CASCADE,
    at REAL NOT NULL,
    cpu_pct REAL,
    rss_kb INTEGER,
    read_bytes INTEGER,
    write_bytes INTEGER
  );
  CREATE INDEX samples_process ON samples(process_id, at);

  CREATE TABLE system_metrics (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    at REAL NOT NULL,
    cpu_pct REAL,
    mem_total_kb INTEGER,
    mem_used_kb INTEGER,
    swap_total_kb INTEGER,
    swap_used_kb INTEGER,
    load1 REAL,
    load5 REAL,
    load15 REAL,
    disk_total_bytes INTEGER,
    disk_used_bytes INTEGER
  );
  CREATE INDEX system_metrics_run ON system_metrics(run_id, at);
  `,
  // 2: why events were lost, and how many processes were recovered from taskstats alone
  `
  ALTER TABLE runs ADD COLUMN loss_reasons TEXT NOT NULL DEFAULT '{}';  -- JSON {reason: count}
  ALTER TABLE runs ADD COLUMN recovered INTEGER NOT NULL DEFAULT 0;
  `,
  // 3: argv cut at a cap is marked with its full length; processes recorded without argv are counted;
  //    the memory limit of the cgroup an OOM-killed process died in
  `
  ALTER TABLE processes ADD COLUMN argv_bytes INTEGER;                        -- whole command line, bytes
  ALTER TABLE processes ADD COLUMN argv_truncated INTEGER NOT NULL DEFAULT 0; -- argv holds only its head
  ALTER TABLE processes ADD COLUMN oom_limit_kb INTEGER;                      -- set when oom_killed
  ALTER TABLE runs ADD COLUMN argv_lost INTEGER NOT NULL DEFAULT 0;           -- exec'd, recorded without argv
  `,
  // 4: the signal a run was asked to stop with (its status is then 'aborted' unless CMD exited 0); when
  //    a process last exec'd (a child forked before that was the earlier program's, not this one's)
  `
  ALTER TABLE runs ADD COLUMN stop_signal INTEGER;  -- first SIGHUP/SIGINT/SIGQUIT/SIGTERM tracer got before CMD ended
  ALTER TABLE processes ADD COLUMN exec_at REAL;     -- epoch ms of its last exec (exact event time); null: none seen
  `,
  // 5: the CPU a process had used when it last exec'd (what its earlier images ran: the shell before
  //    `bash -c 'A; B'` became B), from the scheduler ledger
  `
  ALTER TABLE processes ADD COLUMN exec_cpu_us REAL; -- µs of CPU at its last exec; null: not known
  `,
  // 6: the command line a process ran before its last exec, when it had exec'd that one itself (a
  //    Snakemake job's `bash -c` that ran its last command in its own place is still the job)
  `
  ALTER TABLE processes ADD COLUMN prior_argv TEXT; -- JSON array; null: none, or its parent's image (a fork)
  `,
  // 7: prior_argv is the first image a process exec'd itself (a job shell that exec'd `env … touch`
  //    is still found), and when it holds only the head of its command line, how long that was
  `
  ALTER TABLE processes ADD COLUMN prior_argv_bytes INTEGER; -- whole prior command line's bytes, when prior_argv was cut
  `,
  // 8: the peak RSS of the images a process's execs replaced (the scheduler ledger), apart from its
  //    own: the memory bound counts it only before the last exec
  `
  ALTER TABLE processes ADD COLUMN exec_peak_rss_kb INTEGER; -- KiB; null: not known
  `,
  // 9: a run found by its name, and a pipeline's runs newest first, without reading every run (the HTML
  //    report's history and \`advise\` read the whole runs table: 20 → 150 ms for a 20-process run in a
  //    store of 50,000 runs, an attack, 2 Dec 2026)
  `
  CREATE INDEX runs_name ON runs(name);
  CREATE INDEX runs_pipeline ON runs(pipeline, started_at);
  `,
  // 10: who the recorder is beyond its pid, so that a process given that pid since is not taken for it
  `
  ALTER TABLE runs ADD COLUMN recorder_start TEXT; -- "BOOT_ID:START_TICKS" of recorder_pid; null: not known
  `,
  // 11: why a stronger capture mode was not used (a run in proc-poll mode said it could miss short
  //     processes, never why: no netlink in its network namespace, a seccomp filter, ...)
  `
  ALTER TABLE runs ADD COLUMN capture_skipped TEXT; -- JSON array of "source: why"; null: none skipped
  `,
];
