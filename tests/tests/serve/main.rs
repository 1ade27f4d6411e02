//! `kouan serve` against the real broker, by capability: every endpoint's answers and errors
//! ([`api`]), feed resume ([`feed`]), webhooks ([`webhooks`]), shipper isolation
//! ([`isolation`]), the OpenAPI description against what the API answers ([`openapi`]) and a
//! restart from the store's checkpoint ([`restart`]).
//! Status and alert records are published straight onto the topics ([`fixtures`]) so each test
//! controls exactly what the store sees.

mod analytics;
mod api;
mod dcsa;
mod dcsa_subscriptions;
mod feed;
mod fixtures;
mod hardening;
mod intake;
mod isolation;
mod onerecord;
mod openapi;
mod restart;
mod webhook_pause;
mod webhooks;
