//! The systemd unit in the README ("Running as a service"), exactly as written there: the
//! hardening it promises, and `systemd-analyze verify` where systemd is installed.

fn readme_unit() -> String {
    let readme = include_str!("../../README.md");
    let section = readme
        .split("### Running as a service")
        .nth(1)
        .expect("the README has a section on running as a service");
    let block = section
        .split("```ini\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .expect("the section shows the unit in an ini block");
    block.to_owned() + "\n"
}

#[test]
fn the_unit_runs_as_a_dedicated_hardened_user_and_restarts_on_failure() {
    let unit = readme_unit();
    let lines: Vec<&str> = unit.lines().map(str::trim).collect();
    for directive in [
        "DynamicUser=yes",
        "StateDirectory=aethenox-webhooks",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "Restart=on-failure",
        "CapabilityBoundingSet=",
        "EnvironmentFile=-/etc/aethenox-webhooks/env",
        "WantedBy=multi-user.target",
    ] {
        assert!(lines.contains(&directive), "{directive}");
    }
    let exec = lines
        .iter()
        .find(|l| l.starts_with("ExecStart="))
        .expect("ExecStart");
    assert!(exec.contains("--data-dir ${STATE_DIRECTORY}"), "{exec}");
    // Long enough for attempts in flight (the 15 s request timeout) and open requests (10 s).
    let stop = lines
        .iter()
        .find_map(|l| l.strip_prefix("TimeoutStopSec="))
        .and_then(|v| v.trim_end_matches('s').parse::<u64>().ok())
        .expect("TimeoutStopSec in seconds");
    assert!(stop >= 25, "TimeoutStopSec={stop}s");
}

#[test]
fn systemd_analyze_verify_accepts_the_unit() {
    let Ok(version) = std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output()
    else {
        // CI installs it (.ci/run); on a developer machine without systemd, say so.
        assert!(
            std::env::var_os("CI").is_none(),
            "systemd-analyze is missing; .ci/run installs it"
        );
        println!("SKIPPED: systemd-analyze is not installed here");
        return;
    };
    assert!(version.status.success());
    // The unit as written, but pointing at the binary these tests built.
    let unit = readme_unit().replace(
        "/usr/local/bin/aethenox-webhooks",
        env!("CARGO_BIN_EXE_aethenox-webhooks"),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aethenox-webhooks.service");
    std::fs::write(&path, &unit).unwrap();
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    // verify only warns about a value it cannot parse: any word about the unit is a failure.
    assert!(
        !said.contains("aethenox-webhooks.service"),
        "systemd-analyze verify:\n{said}"
    );
    // And it does notice a broken directive, so the check above can fail.
    std::fs::write(
        &path,
        unit.replace("Restart=on-failure", "Restart=sometimes"),
    )
    .unwrap();
    let broken = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&broken.stderr).contains("aethenox-webhooks.service"),
        "a broken unit is reported"
    );
}
