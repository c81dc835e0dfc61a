//! LISTEN on PostgreSQL: a thread holding its own connection that calls `on_notify` whenever
//! another instance (or this one) sends a notification on the channel, so a published event
//! wakes every instance at once instead of waiting for the next look at the queue.
//!
//! Diesel's connection can only read notifications already received, not wait for one, so
//! this one connection speaks libpq directly (the library Diesel's PostgreSQL backend uses)
//! and waits on its socket.

use std::ffi::{CStr, CString};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How long one wait on the socket lasts, so a stop request is seen promptly.
const WAIT_MS: i32 = 250;
/// The pause before connecting again after the connection is lost.
const RECONNECT: Duration = Duration::from_secs(1);

/// Runs until `stop` is set; reconnects (and listens again) after losing the connection.
pub struct Listener {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Listener {
    pub fn start(
        url: &str,
        channel: &'static str,
        on_notify: impl Fn() + Send + 'static,
    ) -> std::io::Result<Listener> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let url = CString::new(url).map_err(std::io::Error::other)?;
        let thread = std::thread::Builder::new()
            .name("pg-listen".into())
            .spawn(move || {
                // While PostgreSQL is away, the first failed reconnect is logged, not each.
                let mut failing = false;
                while !flag.load(Ordering::Relaxed) {
                    match Connection::listen(&url, channel) {
                        Ok(conn) => {
                            if failing {
                                tracing::info!("listening on PostgreSQL again");
                                failing = false;
                            }
                            // Whatever was published while not listening is due now.
                            on_notify();
                            if let Err(e) = conn.wait_for_notifications(&flag, &on_notify) {
                                tracing::warn!(error = %e, "lost the PostgreSQL LISTEN connection");
                            }
                        }
                        Err(e) if !failing => {
                            tracing::warn!(error = %e, "could not LISTEN on PostgreSQL; retrying every second");
                            failing = true;
                        }
                        Err(e) => tracing::debug!(error = %e, "could not LISTEN on PostgreSQL"),
                    }
                    if !flag.load(Ordering::Relaxed) {
                        std::thread::sleep(RECONNECT);
                    }
                }
            })?;
        Ok(Listener {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One libpq connection, finished when dropped.
struct Connection(*mut pq_sys::PGconn);

impl Drop for Connection {
    fn drop(&mut self) {
        // SAFETY: the pointer came from PQconnectdb and is finished exactly once.
        unsafe { pq_sys::PQfinish(self.0) }
    }
}

impl Connection {
    fn error(&self) -> String {
        // SAFETY: PQerrorMessage returns a NUL-terminated string owned by the connection.
        unsafe { CStr::from_ptr(pq_sys::PQerrorMessage(self.0)) }
            .to_string_lossy()
            .trim()
            .to_owned()
    }

    fn listen(url: &CStr, channel: &str) -> Result<Connection, String> {
        super::init_tls();
        // SAFETY: `url` is NUL-terminated; the result is checked before any other use.
        let conn = Connection(unsafe { pq_sys::PQconnectdb(url.as_ptr()) });
        if conn.0.is_null() {
            return Err("out of memory".into());
        }
        // SAFETY: a live connection.
        if unsafe { pq_sys::PQstatus(conn.0) } != pq_sys::ConnStatusType::CONNECTION_OK {
            return Err(conn.error());
        }
        let sql = CString::new(format!("LISTEN {channel}")).map_err(|e| e.to_string())?;
        // SAFETY: a live connection and a NUL-terminated statement; the result is cleared.
        unsafe {
            let res = pq_sys::PQexec(conn.0, sql.as_ptr());
            let ok = pq_sys::PQresultStatus(res) == pq_sys::ExecStatusType::PGRES_COMMAND_OK;
            pq_sys::PQclear(res);
            if !ok {
                return Err(conn.error());
            }
        }
        Ok(conn)
    }

    /// Calls `on_notify` once per batch of notifications that arrive, until `stop` is set
    /// (Ok) or the connection fails (Err).
    fn wait_for_notifications(
        &self,
        stop: &AtomicBool,
        on_notify: &dyn Fn(),
    ) -> Result<(), String> {
        // SAFETY: a live connection.
        let fd = unsafe { pq_sys::PQsocket(self.0) };
        if fd < 0 {
            return Err(self.error());
        }
        while !stop.load(Ordering::Relaxed) {
            let mut pollfd = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let ready = unsafe { libc::poll(&mut pollfd, 1, WAIT_MS) };
            if ready < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e.to_string());
            }
            if ready == 0 {
                continue;
            }
            // SAFETY: a live connection; each notification is freed after reading.
            let mut any = false;
            unsafe {
                if pq_sys::PQconsumeInput(self.0) == 0 {
                    return Err(self.error());
                }
                loop {
                    let n = pq_sys::PQnotifies(self.0);
                    if n.is_null() {
                        break;
                    }
                    any = true;
                    pq_sys::PQfreemem(n.cast());
                }
            }
            if any {
                on_notify();
            }
        }
        Ok(())
    }
}
