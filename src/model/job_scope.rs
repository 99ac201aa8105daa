//! What a job credential may reach besides its own job and analysis (workflows.md §7.4): the
//! resources named in its own `args`, per workflow and per kind of access.

use serde_json::Value;

use super::workflow::Workflow;

/// A kind of access of the jobs-API data routes (J11–J28), one per row of §7.4's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// J11 read a sample, J14 read its reads.
    ReadSample,
    /// J12 finalize, J13 delete a sample, J15 write its reads.
    WriteSample,
    /// J16 read an upload.
    ReadUpload,
    /// J17 read an index, J18 read an index file.
    ReadIndex,
    /// J19 write an index file, J20 finalize, J21 delete an index's files.
    WriteIndex,
    /// J22 read a subtraction, J23 read a subtraction file.
    ReadSubtraction,
    /// J24 write a subtraction file, J25 finalize, J26 delete.
    WriteSubtraction,
    /// J27, J28 the HMM files (no id).
    Hmm,
}

/// Whether a job of `workflow` with `args` may reach the resource `id` in this way.
pub fn allows(workflow: Workflow, args: &Value, reach: Reach, id: &str) -> bool {
    use Reach::*;
    use Workflow::*;
    let named = |key: &str| args.get(key).and_then(Value::as_str) == Some(id);
    let listed = |key: &str, field: Option<&str>| {
        args.get(key)
            .and_then(Value::as_array)
            .is_some_and(|items| {
                items.iter().any(|item| {
                    let item = field.map_or(Some(item), |field| item.get(field));
                    item.is_some_and(|value| value_is(value, id))
                })
            })
    };
    match (reach, workflow) {
        (ReadSample, PathoscopeBowtie | Nuvs | CreateSample) => named("sample_id"),
        (WriteSample, CreateSample) => named("sample_id"),
        (ReadUpload, CreateSample | CreateSubtraction) => listed("files", Some("id")),
        (ReadIndex, PathoscopeBowtie | Nuvs | BuildIndex) => named("index_id"),
        (WriteIndex, BuildIndex) => named("index_id"),
        (ReadSubtraction, PathoscopeBowtie | Nuvs) => listed("subtractions", None),
        (ReadSubtraction | WriteSubtraction, CreateSubtraction) => named("subtraction_id"),
        (Hmm, Nuvs) => true,
        _ => false,
    }
}

/// A JSON string or integer equal to the path id (upload ids are integers in `args`).
fn value_is(value: &Value, id: &str) -> bool {
    match value {
        Value::String(text) => text == id,
        Value::Number(number) => number.to_string() == id,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn analysis_jobs_read_their_inputs_only() {
        let args = json!({"analysis_id": "a1", "sample_id": "s1", "index_id": "i1",
                          "ref_id": "r1", "subtractions": ["t1", "t2"]});
        let w = Workflow::PathoscopeBowtie;
        assert!(allows(w, &args, Reach::ReadSample, "s1"));
        assert!(!allows(w, &args, Reach::ReadSample, "s2"));
        assert!(!allows(w, &args, Reach::WriteSample, "s1"));
        assert!(allows(w, &args, Reach::ReadIndex, "i1"));
        assert!(!allows(w, &args, Reach::WriteIndex, "i1"));
        assert!(allows(w, &args, Reach::ReadSubtraction, "t2"));
        assert!(!allows(w, &args, Reach::ReadSubtraction, "t3"));
        assert!(!allows(w, &args, Reach::Hmm, ""));
        assert!(allows(Workflow::Nuvs, &args, Reach::Hmm, ""));
    }

    #[test]
    fn create_jobs_reach_their_target_and_uploads() {
        let args = json!({"sample_id": "s1", "files": [{"id": 4, "name": "a.fq.gz", "size": 1}]});
        let w = Workflow::CreateSample;
        assert!(allows(w, &args, Reach::WriteSample, "s1"));
        assert!(allows(w, &args, Reach::ReadUpload, "4"));
        assert!(!allows(w, &args, Reach::ReadUpload, "5"));
        assert!(!allows(w, &args, Reach::ReadIndex, "s1"));
        let args = json!({"subtraction_id": "t1", "files": [{"id": 7, "name": "h.fa"}]});
        let w = Workflow::CreateSubtraction;
        assert!(allows(w, &args, Reach::WriteSubtraction, "t1"));
        assert!(allows(w, &args, Reach::ReadSubtraction, "t1"));
        assert!(allows(w, &args, Reach::ReadUpload, "7"));
        assert!(!allows(w, &args, Reach::ReadSample, "t1"));
        let args = json!({"ref_id": "r", "user_id": "u", "index_id": "i1", "index_version": 0,
                          "manifest": {}});
        assert!(allows(Workflow::BuildIndex, &args, Reach::WriteIndex, "i1"));
        assert!(!allows(
            Workflow::BuildIndex,
            &args,
            Reach::WriteIndex,
            "i2"
        ));
    }
}
