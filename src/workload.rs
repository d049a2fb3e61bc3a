//! Where a request's object names images: which kinds are ours, where their PodSpec lives, and
//! every image string inside it with the JSON pointer needed to rewrite it in place.

use std::collections::{HashMap, HashSet};
use std::fmt;

use crate::admission::{Json, Key};
use thiserror::Error;

use crate::escape::{plain, quoted};
use crate::outcome::Operation;

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

/// Which list of the PodSpec an image site belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// `containers`.
    Container,
    /// `initContainers`.
    InitContainer,
    /// `ephemeralContainers`.
    EphemeralContainer,
    /// `volumes` with an `image` source.
    ImageVolume,
}

impl Role {
    /// How messages name the role.
    pub fn describe(self) -> &'static str {
        match self {
            Role::Container => "container",
            Role::InitContainer => "init container",
            Role::EphemeralContainer => "ephemeral container",
            Role::ImageVolume => "image volume",
        }
    }

    fn list(self) -> Key {
        match self {
            Role::Container => Key::Containers,
            Role::InitContainer => Key::InitContainers,
            Role::EphemeralContainer => Key::EphemeralContainers,
            Role::ImageVolume => Key::Volumes,
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
    /// A string: the image to verify.
    Text(String),
    /// No image field (or `null`): a failure, never a skip.
    Missing,
    /// Something else than a string: a failure naming the JSON type found.
    NotString(&'static str),
}

impl ImageValue {
    fn of(value: Option<&Json<'_>>) -> Self {
        match value {
            None | Some(Json::Null) => ImageValue::Missing,
            Some(Json::Text(text)) => ImageValue::Text(text.to_string()),
            Some(other) => ImageValue::NotString(other.type_name()),
        }
    }

    /// The image text, when the site holds a string.
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
    /// Which list.
    pub role: Role,
    /// The entry's name, or `#index` when it has none.
    pub name: String,
    /// JSON pointer of the image string inside the object.
    pub pointer: String,
    /// What the entry holds where its image should be.
    pub image: ImageValue,
    /// Whether the API server lets this request change the image here, i.e. whether it may be
    /// pinned. Sites that may not change are still verified, and left as written.
    pub mutable: bool,
}

impl ImageSite {
    /// How messages name the site, e.g. `container "app"`.
    pub fn describe(&self) -> String {
        format!("{} {}", self.role.describe(), quoted(&self.name))
    }

    /// The site's identity across an UPDATE.
    pub fn key(&self) -> SiteKey {
        (self.role, self.name.clone())
    }
}

/// An object this policy judges: its image sites and how to name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workload<'r> {
    /// `Kind namespace/name`, for messages.
    pub resource: Resource<'r>,
    /// Pods are what the kubelet runs; the other kinds are controllers' templates.
    pub is_pod: bool,
    /// Every image site, in list order.
    pub sites: Vec<ImageSite>,
}

/// What a request's object is to this policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inspection<'r> {
    /// A kind, operation or subresource this policy does not judge.
    NotOurs,
    /// A workload to judge.
    Workload(Workload<'r>),
}

/// How messages name an object, `Kind namespace/name` (escaped), held as the request's own
/// strings and written out only when a message needs it: most admissions write none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource<'r> {
    kind: &'r str,
    namespace: Option<&'r str>,
    name: Option<&'r str>,
}

impl<'r> Resource<'r> {
    /// The name from the object's metadata, else the request's, else `generateName`; the
    /// namespace from the request, else the object's metadata. Empty strings count as absent.
    fn of(kind: &'r str, request: &'r Json<'_>, object: Option<&'r Json<'_>>) -> Self {
        let text =
            |value: Option<&'r Json<'_>>| value.and_then(Json::as_str).filter(|s| !s.is_empty());
        let metadata = object.and_then(|o| o.get(Key::Metadata));
        Self {
            kind,
            name: text(metadata.and_then(|m| m.get(Key::Name)))
                .or_else(|| text(request.get(Key::Name)))
                .or_else(|| text(metadata.and_then(|m| m.get(Key::GenerateName)))),
            namespace: text(request.get(Key::Namespace))
                .or_else(|| text(metadata.and_then(|m| m.get(Key::Namespace)))),
        }
    }
}

impl fmt::Display for Resource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = plain(self.name.unwrap_or("<unnamed>"));
        match self.namespace {
            Some(namespace) => write!(f, "{} {}/{name}", self.kind, plain(namespace)),
            None => write!(f, "{} {name}", self.kind),
        }
    }
}

/// A request whose object cannot be read where images are.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("{resource} cannot be checked: {reason}")]
pub struct WorkloadError {
    /// The resource, as messages name it.
    pub resource: String,
    /// What is wrong with it.
    pub reason: String,
}

const EPHEMERAL_SUBRESOURCE: &str = "ephemeralcontainers";

/// Whether the request is ours, and every image site of its object. `request`: the
/// admission request read by [`crate::admission`].
pub fn inspect<'r>(request: &'r Json<'_>) -> Result<Inspection<'r>, WorkloadError> {
    let unknown = || WorkloadError {
        resource: "the request".into(),
        reason: "it has no kind (group, version, kind)".into(),
    };
    let kind = request.get(Key::Kind).ok_or_else(unknown)?;
    let field = |key: Key| kind.get(key).and_then(Json::as_str);
    let gvk = match (field(Key::Group), field(Key::Version), field(Key::Kind)) {
        (Some(group), Some(version), Some(kind)) => Gvk {
            group,
            version,
            kind,
        },
        _ => return Err(unknown()),
    };
    let Some(spec_pointer) = pod_spec_pointer(gvk) else {
        return Ok(Inspection::NotOurs);
    };
    let operation = Operation::from_wire(
        request
            .get(Key::Operation)
            .and_then(Json::as_str)
            .unwrap_or(""),
    );
    if !operation.carries_object() {
        return Ok(Inspection::NotOurs);
    }
    let object = request.get(Key::Object).and_then(Json::embedded_tree);
    let resource = Resource::of(gvk.kind, request, object);
    let fail = |reason: String| WorkloadError {
        resource: resource.to_string(),
        reason,
    };
    let object = object.ok_or_else(|| fail(format!("the {operation} request has no object")))?;
    if !object.is_object() {
        return Err(fail("the object is not a JSON object".into()));
    }
    let pod_spec = object
        .pointer(spec_pointer)
        .ok_or_else(|| fail(format!("{} is missing", dotted(spec_pointer))))?;
    if !pod_spec.is_object() {
        return Err(fail(format!("{} is not an object", dotted(spec_pointer))));
    }
    // `kubectl debug` adds ephemeral containers through a subresource whose update the API
    // server limits to that list, so only those images are judged and pinned there.
    let sub_resource = request
        .get(Key::SubResource)
        .and_then(Json::as_str)
        .unwrap_or("");
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
    if gvk.kind == "Pod" && operation == Operation::Update {
        mark_immutable_pod_sites(request, sub_resource == EPHEMERAL_SUBRESOURCE, &mut sites);
    }
    Ok(Inspection::Workload(Workload {
        resource,
        is_pod: gvk.kind == "Pod",
        sites,
    }))
}

/// On a Pod UPDATE the API server refuses any change to `spec.volumes` and to existing
/// ephemeral containers; only the images of `containers` and `initContainers` may change, and
/// through the `ephemeralcontainers` subresource only newly added ephemeral containers can be
/// written. Everything else is verified but must not be patched.
fn mark_immutable_pod_sites(
    request: &Json<'_>,
    ephemeral_subresource: bool,
    sites: &mut [ImageSite],
) {
    // Hashed, like every per-request set and map: hash tables are in the module anyway (the
    // SDK's annotations map), each B-tree key type adds kilobytes.
    let mut existing: HashSet<String> = HashSet::new();
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
pub fn old_sites(request: &Json<'_>) -> Option<HashMap<SiteKey, String>> {
    let operation = request.get(Key::Operation).and_then(Json::as_str);
    if operation.map(Operation::from_wire) != Some(Operation::Update) {
        return None;
    }
    let old = request.get(Key::OldObject)?.embedded_tree()?;
    if !old.is_object() {
        return None;
    }
    let kind = request.get(Key::Kind)?;
    let spec_pointer = pod_spec_pointer(Gvk {
        group: kind.get(Key::Group)?.as_str()?,
        version: kind.get(Key::Version)?.as_str()?,
        kind: kind.get(Key::Kind)?.as_str()?,
    })?;
    let pod_spec = old.pointer(spec_pointer).filter(|spec| spec.is_object())?;
    let mut sites = Vec::new();
    for role in [
        Role::Container,
        Role::InitContainer,
        Role::EphemeralContainer,
        Role::ImageVolume,
    ] {
        collect_sites(pod_spec, spec_pointer, role, &mut sites).ok()?;
    }
    // A later site of one key replaces an earlier one.
    let mut images = HashMap::new();
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
    pod_spec: &Json<'_>,
    spec_pointer: &str,
    role: Role,
    sites: &mut Vec<ImageSite>,
) -> Result<(), String> {
    let key = role.list_key();
    let entries = match pod_spec.get(role.list()) {
        None | Some(Json::Null) => return Ok(()),
        Some(Json::List(entries)) => entries,
        Some(_) => return Err(format!("{}.{key} is not a list", dotted(spec_pointer))),
    };
    for (index, entry) in entries.iter().enumerate() {
        if !entry.is_object() {
            return Err(format!(
                "{}.{key}[{index}] is not an object",
                dotted(spec_pointer)
            ));
        }
        let name = entry
            .get(Key::Name)
            .and_then(Json::as_str)
            .map_or_else(|| format!("#{index}"), str::to_string);
        if role == Role::ImageVolume && entry.get(Key::Image).is_none() {
            continue;
        }
        let image = match role {
            Role::ImageVolume => entry.get(Key::Image).and_then(|v| v.get(Key::Reference)),
            _ => entry.get(Key::Image),
        };
        sites.push(ImageSite {
            role,
            name,
            // One allocation: every site of every request builds one.
            pointer: [
                spec_pointer,
                "/",
                key,
                "/",
                &index.to_string(),
                role.image_pointer(),
            ]
            .concat(),
            image: ImageValue::of(image),
            mutable: true,
        });
    }
    Ok(())
}

/// `Kind namespace/name`; Pods made by controllers have only `generateName` at admission.
fn dotted(pointer: &str) -> String {
    pointer.trim_start_matches('/').replace('/', ".")
}
