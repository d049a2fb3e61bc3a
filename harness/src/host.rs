//! The one host dispatcher: every guest → host call of every command goes through `Host::call`,
//! which routes it (`capabilities::route`), prints `tracing/log` events, and answers it live,
//! from a recorded session, or live while recording.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::capabilities::{self, CapabilityServices, Routed};
use crate::record::{self, RecordError, Recorder, Replayer};
use crate::runtime::HostCall;

/// Where answers come from.
pub enum Answers {
    /// The capability services (a real registry, or a test's own).
    Live(Box<dyn CapabilityServices>),
    /// A recorded session, strictly in order (kwctl's replay).
    Replay(Replayer),
    /// Live, and every exchange kept for `Host::save`.
    Recording(Box<dyn CapabilityServices>, Recorder),
}

pub struct Host {
    answers: Answers,
    /// Host capability calls served (logging excluded), for `harness bench`.
    calls: AtomicUsize,
}

impl Host {
    pub fn new(answers: Answers) -> Self {
        Self {
            answers,
            calls: AtomicUsize::new(0),
        }
    }

    /// Host capability calls answered so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::Relaxed)
    }

    /// One guest call: (binding, namespace, operation, payload) → the payload the guest
    /// receives, or the error text it receives. A live failure reaches the guest in the
    /// engine's words ("Callback evaluation failure: …"); a replayed one as recorded.
    pub fn call(
        &self,
        binding: &str,
        namespace: &str,
        operation: &str,
        payload: &[u8],
    ) -> Result<Vec<u8>, String> {
        let request = match capabilities::route(binding, namespace, operation, payload)? {
            Routed::Log(event) => {
                capabilities::print_log(&event);
                return Ok(Vec::new());
            }
            Routed::Request(request) => request,
        };
        self.calls.fetch_add(1, Ordering::Relaxed);
        let live = |services: &dyn CapabilityServices, request| {
            capabilities::serve(services, request)
                .map_err(|e| format!("Callback evaluation failure: {e}"))
        };
        match &self.answers {
            Answers::Replay(replayer) => replayer.answer(&request),
            Answers::Live(services) => live(services.as_ref(), request),
            Answers::Recording(services, recorder) => {
                let text = record::request_text(&request)?;
                let answer = live(services.as_ref(), request);
                recorder.record(text, &answer);
                answer
            }
        }
    }

    /// The recorded session to `path`; nothing to write unless recording.
    pub fn save(&self, path: &Path) -> Result<(), RecordError> {
        match &self.answers {
            Answers::Recording(_, recorder) => recorder.save(path),
            Answers::Live(_) | Answers::Replay(_) => Ok(()),
        }
    }

    /// This host as the callback a `PolicyModule` calls.
    pub fn callback(self: &Arc<Self>) -> Arc<HostCall> {
        let host = Arc::clone(self);
        Arc::new(move |b: &str, n: &str, o: &str, p: &[u8]| host.call(b, n, o, p))
    }
}
