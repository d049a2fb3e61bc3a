//! Where a request's object names images: which kinds are ours, where their PodSpec lives, and
//! every image string inside it with the JSON pointer needed to rewrite it in place.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::value::RawValue;
use thiserror::Error;

use crate::admission::{Json, Node, Request, Scalar, Skip, present};
use crate::escape::{plain, quoted};

/// A Kubernetes group/version/kind as the API server sends it in `request.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Gvk<'a> {
    group: &'a str,
    version: &'a str,
    kind: &'a str,
}

/// JSON pointer of the PodSpec inside each kind we handle. Dispatch is on the whole
/// group/version/kind: a CRD that happens to be called `Pod` is not a Pod.
fn pod_spec_pointer(gvk: Gvk<'_>) -> Option<&'static str> {
    match (gvk.group, gvk.version, gvk.kind) {
        ("", "v1", "Pod") => Some("/spec"),
        ("", "v1", "ReplicationController")
        | ("apps", "v1", "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet")
        | ("batch", "v1", "Job") => Some("/spec/template/spec"),
        ("batch", "v1", "CronJob") => Some("/spec/jobTemplate/spec/template/spec"),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Container,
    InitContainer,
    EphemeralContainer,
    ImageVolume,
}

impl Role {
    pub fn describe(self) -> &'static str {
        match self {
            Role::Container => "container",
            Role::InitContainer => "init container",
            Role::EphemeralContainer => "ephemeral container",
            Role::ImageVolume => "image volume",
        }
    }

    fn list_key(self) -> &'static str {
        match self {
            Role::Container => "containers",
            Role::InitContainer => "initContainers",
            Role::EphemeralContainer => "ephemeralContainers",
            Role::ImageVolume => "volumes",
        }
    }

    /// Where the image string sits inside one list entry.
    fn image_pointer(self) -> &'static str {
        match self {
            Role::ImageVolume => "/image/reference",
            _ => "/image",
        }
    }
}

/// What an entry holds where its image should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageValue {
    Text(String),
    /// No image field (or `null`): a failure, never a skip.
    Missing,
    /// Something else than a string: a failure naming the JSON type found.
    NotString(&'static str),
}

impl ImageValue {
    fn of<O, L>(value: Option<&Json<'_, O, L>>) -> Self {
        match value {
            None | Some(Json::Null) => ImageValue::Missing,
            Some(Json::Text(text)) => ImageValue::Text(text.to_string()),
            Some(other) => ImageValue::NotString(other.type_name()),
        }
    }

    pub fn text(&self) -> Option<&str> {
        match self {
            ImageValue::Text(text) => Some(text),
            _ => None,
        }
    }
}

/// Where an image sits as Kubernetes sees it across an UPDATE: the list and the entry's name
/// (its index when it has none).
pub type SiteKey = (Role, String);

/// One place in the object that names an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSite {
    pub role: Role,
    pub name: String,
    /// JSON pointer of the image string inside the object.
    pub pointer: String,
    pub image: ImageValue,
    /// Whether the API server lets this request change the image here, i.e. whether it may be
    /// pinned. Sites that may not change are still verified, and left as written.
    pub mutable: bool,
}

impl ImageSite {
    pub fn describe(&self) -> String {
        format!("{} {}", self.role.describe(), quoted(&self.name))
    }

    pub fn key(&self) -> SiteKey {
        (self.role, self.name.clone())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload {
    /// `Kind namespace/name`, for messages.
    pub resource: String,
    /// Pods are what the kubelet runs; the other kinds are controllers' templates.
    pub is_pod: bool,
    pub sites: Vec<ImageSite>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inspection {
    /// A kind, operation or subresource this policy does not judge.
    NotOurs,
    Workload(Workload),
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("{resource} cannot be checked: {reason}")]
pub struct WorkloadError {
    pub resource: String,
    pub reason: String,
}

const EPHEMERAL_SUBRESOURCE: &str = "ephemeralcontainers";

fn text<'s>(field: &'s Option<Scalar<'_>>) -> Option<&'s str> {
    field.as_ref().and_then(Json::as_str)
}

fn request_gvk<'r>(request: &'r Request<'_>) -> Option<Gvk<'r>> {
    let kind = request.kind.as_ref()?.as_object()?;
    Some(Gvk {
        group: text(&kind.group)?,
        version: text(&kind.version)?,
        kind: text(&kind.kind)?,
    })
}

/// The object's raw text read as the workload tree (any JSON type).
fn read_object(raw: &RawValue) -> Result<Json<'_, Node<'_>, Skip>, serde_json::Error> {
    serde_json::from_str(raw.get())
}

pub fn inspect(request: &Request<'_>) -> Result<Inspection, WorkloadError> {
    let gvk = request_gvk(request).ok_or_else(|| WorkloadError {
        resource: "the request".into(),
        reason: "it has no kind (group, version, kind)".into(),
    })?;
    let Some(spec_pointer) = pod_spec_pointer(gvk) else {
        return Ok(Inspection::NotOurs);
    };
    let operation = text(&request.operation).unwrap_or("");
    if matches!(operation, "DELETE" | "CONNECT") {
        return Ok(Inspection::NotOurs);
    }
    let object = match present(request.object) {
        None => None,
        // The payload parsed as JSON, so its object does too.
        Some(raw) => Some(read_object(raw).map_err(|e| WorkloadError {
            resource: "the request".into(),
            reason: format!("its object cannot be read: {e}"),
        })?),
    };
    let resource = describe_resource(gvk.kind, request, object.as_ref());
    let fail = |reason: String| WorkloadError {
        resource: resource.clone(),
        reason,
    };
    let object = object.ok_or_else(|| fail(format!("the {operation} request has no object")))?;
    let object = object
        .as_object()
        .ok_or_else(|| fail("the object is not a JSON object".into()))?;
    let pod_spec = pod_spec(object, spec_pointer)
        .ok_or_else(|| fail(format!("{} is missing", dotted(spec_pointer))))?
        .ok_or_else(|| fail(format!("{} is not an object", dotted(spec_pointer))))?;
    // `kubectl debug` adds ephemeral containers through a subresource whose update the API
    // server limits to that list, so only those images are judged and pinned there.
    let sub_resource = text(&request.sub_resource).unwrap_or("");
    let roles: &[Role] = if sub_resource == EPHEMERAL_SUBRESOURCE {
        &[Role::EphemeralContainer]
    } else if gvk.kind == "Pod" {
        &[
            Role::Container,
            Role::InitContainer,
            Role::EphemeralContainer,
            Role::ImageVolume,
        ]
    } else {
        // Kubernetes forbids ephemeral containers in pod templates.
        &[Role::Container, Role::InitContainer, Role::ImageVolume]
    };
    let mut sites = Vec::new();
    for role in roles {
        collect_sites(pod_spec, spec_pointer, *role, &mut sites).map_err(fail)?;
    }
    if gvk.kind == "Pod" && operation == "UPDATE" {
        mark_immutable_pod_sites(request, sub_resource == EPHEMERAL_SUBRESOURCE, &mut sites);
    }
    Ok(Inspection::Workload(Workload {
        resource,
        is_pod: gvk.kind == "Pod",
        sites,
    }))
}

/// The PodSpec at `pointer` (`/spec`, `/spec/template/spec`, …), followed like a JSON pointer
/// through objects only. `None`: missing on the way; `Some(None)`: there, but not an object.
fn pod_spec<'n, 'a>(object: &'n Node<'a>, pointer: &str) -> Option<Option<&'n Node<'a>>> {
    let mut node = object;
    let mut segments = pointer.trim_start_matches('/').split('/').peekable();
    while let Some(segment) = segments.next() {
        let child = node.child(segment)?;
        match (child.as_object(), segments.peek()) {
            (Some(next), _) => node = next,
            (None, None) => return Some(None),
            (None, Some(_)) => return None,
        }
    }
    Some(Some(node))
}

/// On a Pod UPDATE the API server refuses any change to `spec.volumes` and to existing
/// ephemeral containers; only the images of `containers` and `initContainers` may change, and
/// through the `ephemeralcontainers` subresource only newly added ephemeral containers can be
/// written. Everything else is verified but must not be patched.
fn mark_immutable_pod_sites(
    request: &Request<'_>,
    ephemeral_subresource: bool,
    sites: &mut [ImageSite],
) {
    // `extend`, not `collect`: collecting into a B-tree sorts first, and each sort
    // instantiation weighs kilobytes of the module.
    let mut existing: BTreeSet<String> = BTreeSet::new();
    if let Some(old) = old_sites(request) {
        existing.extend(
            old.into_keys()
                .filter(|(role, _)| *role == Role::EphemeralContainer)
                .map(|(_, name)| name),
        );
    }
    for site in sites {
        site.mutable = match site.role {
            Role::Container | Role::InitContainer => true,
            Role::EphemeralContainer => ephemeral_subresource && !existing.contains(&site.name),
            Role::ImageVolume => false,
        };
    }
}

/// The image string of every site of an UPDATE's `oldObject`, by site, walked exactly like
/// the new object. `None` when the request is no UPDATE or the old object cannot be read.
pub fn old_sites(request: &Request<'_>) -> Option<BTreeMap<SiteKey, String>> {
    if text(&request.operation) != Some("UPDATE") {
        return None;
    }
    let old = read_object(present(request.old_object)?).ok()?;
    let old = old.as_object()?;
    let spec_pointer = pod_spec_pointer(request_gvk(request)?)?;
    let pod_spec = pod_spec(old, spec_pointer)??;
    let mut sites = Vec::new();
    for role in [
        Role::Container,
        Role::InitContainer,
        Role::EphemeralContainer,
        Role::ImageVolume,
    ] {
        collect_sites(pod_spec, spec_pointer, role, &mut sites).ok()?;
    }
    // `extend`, not `collect` (see `mark_immutable_pod_sites`); a later site of one key
    // replaces an earlier one either way.
    let mut images = BTreeMap::new();
    images.extend(sites.into_iter().filter_map(|site| {
        let key = site.key();
        match site.image {
            ImageValue::Text(image) => Some((key, image)),
            _ => None,
        }
    }));
    Some(images)
}

fn collect_sites(
    pod_spec: &Node<'_>,
    spec_pointer: &str,
    role: Role,
    sites: &mut Vec<ImageSite>,
) -> Result<(), String> {
    let key = role.list_key();
    let list = match role {
        Role::Container => &pod_spec.containers,
        Role::InitContainer => &pod_spec.init_containers,
        Role::EphemeralContainer => &pod_spec.ephemeral_containers,
        Role::ImageVolume => &pod_spec.volumes,
    };
    let entries = match list {
        None | Some(Json::Null) => return Ok(()),
        Some(Json::List(entries)) => entries,
        Some(_) => return Err(format!("{}.{key} is not a list", dotted(spec_pointer))),
    };
    for (index, entry) in entries.iter().enumerate() {
        let entry = entry
            .as_object()
            .ok_or_else(|| format!("{}.{key}[{index}] is not an object", dotted(spec_pointer)))?;
        let name = text(&entry.name).map_or_else(|| format!("#{index}"), str::to_string);
        let image = match (role, &entry.image) {
            (Role::ImageVolume, None) => continue,
            (Role::ImageVolume, Some(source)) => ImageValue::of(
                source
                    .as_object()
                    .and_then(|source| source.reference.as_ref()),
            ),
            (_, image) => ImageValue::of(image.as_ref()),
        };
        sites.push(ImageSite {
            role,
            name,
            pointer: format!("{spec_pointer}/{key}/{index}{}", role.image_pointer()),
            image,
            mutable: true,
        });
    }
    Ok(())
}

/// `Kind namespace/name`; Pods made by controllers have only `generateName` at admission.
fn describe_resource(
    kind: &str,
    request: &Request<'_>,
    object: Option<&Json<'_, Node<'_>, Skip>>,
) -> String {
    let metadata = object
        .and_then(Json::as_object)
        .and_then(|o| o.metadata.as_ref())
        .and_then(Json::as_object);
    fn given(field: Option<&str>) -> Option<&str> {
        field.filter(|s| !s.is_empty())
    }
    let name = given(metadata.and_then(|m| text(&m.name)))
        .or_else(|| given(text(&request.name)))
        .or_else(|| given(metadata.and_then(|m| text(&m.generate_name))))
        .unwrap_or("<unnamed>");
    let namespace = given(text(&request.namespace))
        .or_else(|| given(metadata.and_then(|m| text(&m.namespace))));
    let (name, namespace) = (plain(name), namespace.map(plain));
    match namespace {
        Some(namespace) => format!("{kind} {namespace}/{name}"),
        None => format!("{kind} {name}"),
    }
}

fn dotted(pointer: &str) -> String {
    pointer.trim_start_matches('/').replace('/', ".")
}
