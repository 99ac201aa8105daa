//! Sample rights (contract §4): pure functions over a user and a sample's rights.

/// The rights fields of a sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleRights {
    pub owner_id: String,
    pub group: Option<String>,
    pub group_read: bool,
    pub group_write: bool,
    pub all_read: bool,
    pub all_write: bool,
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub id: String,
    pub administrator: bool,
    pub groups: Vec<String>,
}

fn is_member(user: &Principal, sample: &SampleRights) -> bool {
    sample
        .group
        .as_ref()
        .is_some_and(|g| user.groups.iter().any(|ug| ug == g))
}

fn is_owner_or_admin(user: &Principal, sample: &SampleRights) -> bool {
    user.administrator || sample.owner_id == user.id
}

pub fn can_read(user: &Principal, sample: &SampleRights) -> bool {
    is_owner_or_admin(user, sample)
        || sample.all_read
        || (is_member(user, sample) && sample.group_read)
}

/// Write is never granted without read.
pub fn can_write(user: &Principal, sample: &SampleRights) -> bool {
    is_owner_or_admin(user, sample)
        || (can_read(user, sample)
            && (sample.all_write || (is_member(user, sample) && sample.group_write)))
}

/// Changing a sample's rights (U13).
pub fn can_change_rights(user: &Principal, sample: &SampleRights) -> bool {
    is_owner_or_admin(user, sample)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, admin: bool, groups: &[&str]) -> Principal {
        Principal {
            id: id.into(),
            administrator: admin,
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }

    fn sample(group: Option<&str>, gr: bool, gw: bool, ar: bool, aw: bool) -> SampleRights {
        SampleRights {
            owner_id: "owner".into(),
            group: group.map(str::to_owned),
            group_read: gr,
            group_write: gw,
            all_read: ar,
            all_write: aw,
        }
    }

    #[test]
    fn matrix() {
        let owner = user("owner", false, &[]);
        let admin = user("admin", true, &[]);
        let member = user("m", false, &["g"]);
        let other = user("o", false, &["h"]);
        // (sample, member read/write, other read/write)
        let cases = [
            (
                sample(None, false, false, false, false),
                (false, false),
                (false, false),
            ),
            (
                sample(Some("g"), true, false, false, false),
                (true, false),
                (false, false),
            ),
            (
                sample(Some("g"), true, true, false, false),
                (true, true),
                (false, false),
            ),
            (
                sample(Some("g"), false, true, false, false),
                (false, false),
                (false, false),
            ),
            (
                sample(None, false, false, true, false),
                (true, false),
                (true, false),
            ),
            (
                sample(None, false, false, true, true),
                (true, true),
                (true, true),
            ),
            (
                sample(None, false, false, false, true),
                (false, false),
                (false, false),
            ),
            (
                sample(Some("g"), false, true, true, false),
                (true, true),
                (true, false),
            ),
        ];
        for (s, m, o) in cases {
            assert!(can_read(&owner, &s) && can_write(&owner, &s));
            assert!(can_read(&admin, &s) && can_write(&admin, &s));
            assert_eq!((can_read(&member, &s), can_write(&member, &s)), m, "{s:?}");
            assert_eq!((can_read(&other, &s), can_write(&other, &s)), o, "{s:?}");
            assert!(can_change_rights(&owner, &s) && can_change_rights(&admin, &s));
            assert!(!can_change_rights(&member, &s));
        }
    }
}
