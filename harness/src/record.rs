//! Record and replay of host capability interactions in kwctl's session file shape (protocol
//! doc §5.3), so that sessions recorded here replay under kwctl and the other way round.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_yaml::value::{Tag, TaggedValue};

use crate::capabilities::CapabilityRequest;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type")]
pub enum Interaction {
    Exchange {
        /// The request as kwctl writes it: a YAML string holding a tagged enum.
        request: String,
        response: Response,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type")]
pub enum Response {
    Success { payload: String },
    Error { message: String },
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("cannot read the session file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("cannot write the session file {path}: {reason}")]
    Write { path: String, reason: String },
}

/// The request as the YAML value kwctl records: `!Variant {fields}`.
pub fn request_value(request: &CapabilityRequest) -> Result<serde_yaml::Value, String> {
    let (tag, fields) = match request {
        CapabilityRequest::Verify(input) => {
            let mut json = serde_json::to_value(input).map_err(|e| e.to_string())?;
            let tag = json
                .as_object_mut()
                .and_then(|o| o.remove("type"))
                .and_then(|t| t.as_str().map(str::to_string))
                .ok_or("verification request without type")?;
            (tag, json)
        }
        CapabilityRequest::OciManifestDigest(image) => (
            "OciManifestDigest".into(),
            serde_json::json!({"image": image}),
        ),
        CapabilityRequest::OciManifest(image) => {
            ("OciManifest".into(), serde_json::json!({"image": image}))
        }
        CapabilityRequest::OciManifestAndConfig(image) => (
            "OciManifestAndConfig".into(),
            serde_json::json!({"image": image}),
        ),
        CapabilityRequest::CryptoIsCertificateTrusted(request) => (
            "CryptoIsCertificateTrusted".into(),
            serde_json::to_value(request).map_err(|e| e.to_string())?,
        ),
    };
    let value = serde_yaml::to_value(&fields).map_err(|e| e.to_string())?;
    Ok(serde_yaml::Value::Tagged(Box::new(TaggedValue {
        tag: Tag::new(tag),
        value,
    })))
}

pub fn request_text(request: &CapabilityRequest) -> Result<String, String> {
    serde_yaml::to_string(&request_value(request)?).map_err(|e| e.to_string())
}

/// Appends every exchange and writes the whole session when asked.
#[derive(Default)]
pub struct Recorder {
    interactions: Mutex<Vec<Interaction>>,
}

impl Recorder {
    /// `request` is the text `request_text` made before the request was served.
    pub fn record(&self, request: String, answer: &Result<Vec<u8>, String>) {
        let response = match answer {
            Ok(payload) => Response::Success {
                payload: String::from_utf8_lossy(payload).into_owned(),
            },
            Err(message) => Response::Error {
                message: message.clone(),
            },
        };
        if let Ok(mut interactions) = self.interactions.lock() {
            interactions.push(Interaction::Exchange { request, response });
        }
    }

    pub fn save(&self, path: &Path) -> Result<(), RecordError> {
        let fail = |reason: String| RecordError::Write {
            path: path.display().to_string(),
            reason,
        };
        let interactions = self.interactions.lock().map_err(|e| fail(e.to_string()))?;
        let text = serde_yaml::to_string(&*interactions).map_err(|e| fail(e.to_string()))?;
        std::fs::write(path, text).map_err(|e| fail(e.to_string()))
    }
}

/// Answers strictly in recorded order, like kwctl's replay proxy.
pub struct Replayer {
    interactions: Mutex<VecDeque<Interaction>>,
    /// For benchmarks: start over when the session is used up, so that every evaluation of
    /// the same request replays the same exchanges.
    cycle: Option<Vec<Interaction>>,
}

impl Replayer {
    pub fn load(path: &Path) -> Result<Self, RecordError> {
        let fail = |reason: String| RecordError::Read {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
        let interactions: Vec<Interaction> =
            serde_yaml::from_str(&text).map_err(|e| fail(e.to_string()))?;
        Ok(Self::new(interactions))
    }

    pub fn new(interactions: Vec<Interaction>) -> Self {
        Self {
            interactions: Mutex::new(interactions.into()),
            cycle: None,
        }
    }

    pub fn cycling(mut self) -> Self {
        let all = self
            .interactions
            .lock()
            .map(|i| i.iter().cloned().collect())
            .unwrap_or_default();
        self.cycle = Some(all);
        self
    }

    pub fn answer(&self, request: &CapabilityRequest) -> Result<Vec<u8>, String> {
        let incoming = request_value(request)?;
        let mut interactions = self.interactions.lock().map_err(|e| e.to_string())?;
        if let (true, Some(all)) = (interactions.is_empty(), &self.cycle) {
            interactions.extend(all.iter().cloned());
        }
        let Some(Interaction::Exchange {
            request: recorded,
            response,
        }) = interactions.pop_front()
        else {
            return Err("Replay error: the list of recorded responses is empty".into());
        };
        let expected: serde_yaml::Value =
            serde_yaml::from_str(&recorded).map_err(|e| e.to_string())?;
        if expected != incoming {
            let got = serde_yaml::to_string(&incoming).unwrap_or_default();
            return Err(format!(
                "Replay error: unexpected request. Was expecting {recorded}, got {got} instead"
            ));
        }
        match response {
            Response::Success { payload } => Ok(payload.into_bytes()),
            Response::Error { message } => Err(message),
        }
    }
}
