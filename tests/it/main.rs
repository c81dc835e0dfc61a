//! Integration tests: the real app on a temp-file SQLite database, over real HTTP on 127.0.0.1.

mod api;
mod architecture;
mod auth;
mod cli;
mod contract;
mod crash;
mod delivery;
mod escaping;
mod fuzz_smoke;
mod hostile;
mod instances;
mod limits;
mod log;
mod moving;
mod readme_session;
mod receiver;
mod receivers;
mod reference;
mod retention;
mod service;
mod support;
mod team;
mod use_cases;
mod webhooks;
