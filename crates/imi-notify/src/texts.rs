//! The texts of notifications, per kind and language. English, French and German are
//! written out; any other language falls back to English and says so in the subject, so a
//! missing translation is visible rather than silent.
//!
//! Texts name only what the notification's parameters hold (ids, dates): never personal data.
//! The registration code is the one secret, put in by the sender alone.

use imi_projections::notifications::kinds;
use serde_json::Value;

/// A rendered notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Text {
    pub subject: String,
    pub body: String,
    /// The language the text is in (the requested one, or `en` when it fell back).
    pub language: &'static str,
}

/// The languages texts are written in.
pub const LANGUAGES: [&str; 3] = ["en", "fr", "de"];

/// The first official language of a Member State, for recipients whose own language is not
/// known (Iceland and Norway: English, theirs not being an EU language).
pub fn language_of_member_state(code: &str) -> &'static str {
    match code {
        "AT" | "DE" | "LI" => "de",
        "BE" | "FR" | "LU" => "fr",
        "BG" => "bg",
        "CY" | "GR" => "el",
        "CZ" => "cs",
        "DK" => "da",
        "EE" => "et",
        "ES" => "es",
        "FI" => "fi",
        "HR" => "hr",
        "HU" => "hu",
        "IT" => "it",
        "LT" => "lt",
        "LV" => "lv",
        "MT" => "mt",
        "NL" => "nl",
        "PL" => "pl",
        "PT" => "pt",
        "RO" => "ro",
        "SE" => "sv",
        "SI" => "sl",
        "SK" => "sk",
        _ => "en",
    }
}

fn param<'a>(params: &'a Value, key: &str) -> &'a str {
    params.get(key).and_then(Value::as_str).unwrap_or("?")
}

/// The date part of an RFC 3339 timestamp parameter.
fn date(params: &Value, key: &str) -> String {
    param(params, key).chars().take(10).collect()
}

/// The text of a notification of `kind` in `language` (with English as the visible fallback).
/// `code` is the registration code, for the one kind that carries it.
pub fn render(kind: &str, params: &Value, language: &str, code: Option<&str>) -> Text {
    let lang = match language {
        "fr" => "fr",
        "de" => "de",
        _ => "en",
    };
    let authority = param(params, "authority_id");
    let (subject, body) = match (kind, lang) {
        (kinds::REGISTRATION_CODE, lang) => {
            let code = code.unwrap_or("?");
            let until = date(params, "expires_at");
            match lang {
                "fr" => (
                    "IMI : votre code d'enregistrement".to_string(),
                    format!(
                        "Votre autorité ({authority}) est invitée à s'enregistrer dans le \
                         Système d'information du marché intérieur (IMI).\n\nCode \
                         d'enregistrement : {code}\nValable jusqu'au : {until}\n"
                    ),
                ),
                "de" => (
                    "IMI: Ihr Registrierungscode".to_string(),
                    format!(
                        "Ihre Behörde ({authority}) ist eingeladen, sich im \
                         Binnenmarkt-Informationssystem (IMI) zu registrieren.\n\n\
                         Registrierungscode: {code}\nGültig bis: {until}\n"
                    ),
                ),
                _ => (
                    "IMI: your registration code".to_string(),
                    format!(
                        "Your authority ({authority}) is invited to register in the Internal \
                         Market Information System (IMI).\n\nRegistration code: {code}\nValid \
                         until: {until}\n"
                    ),
                ),
            }
        }
        (kinds::INVITATION_EXPIRED, "fr") => (
            "IMI : une invitation a expiré".into(),
            format!("Le code d'enregistrement de {authority} a expiré sans être utilisé. Renouvelez l'invitation pour qu'elle puisse s'enregistrer.\n"),
        ),
        (kinds::INVITATION_EXPIRED, "de") => (
            "IMI: eine Einladung ist abgelaufen".into(),
            format!("Der Registrierungscode von {authority} ist ungenutzt abgelaufen. Erneuern Sie die Einladung, damit sie sich registrieren kann.\n"),
        ),
        (kinds::INVITATION_EXPIRED, _) => (
            "IMI: an invitation expired".into(),
            format!("The registration code of {authority} expired unused. Renew the invitation so it can register.\n"),
        ),
        (kinds::AWAITING_VALIDATION, "fr") => (
            "IMI : une autorité attend votre validation".into(),
            format!("L'autorité {authority} ({}) s'est enregistrée et attend votre validation.\n", param(params, "official_name")),
        ),
        (kinds::AWAITING_VALIDATION, "de") => (
            "IMI: eine Behörde wartet auf Ihre Validierung".into(),
            format!("Die Behörde {authority} ({}) hat sich registriert und wartet auf Ihre Validierung.\n", param(params, "official_name")),
        ),
        (kinds::AWAITING_VALIDATION, _) => (
            "IMI: an authority awaits your validation".into(),
            format!("The authority {authority} ({}) registered itself and awaits your validation.\n", param(params, "official_name")),
        ),
        (kinds::AUTHORITY_VALIDATED, "fr") => (
            "IMI : votre autorité est validée".into(),
            "Votre coordinateur a validé votre autorité : elle peut désormais travailler dans IMI.\n".into(),
        ),
        (kinds::AUTHORITY_VALIDATED, "de") => (
            "IMI: Ihre Behörde ist validiert".into(),
            "Ihr Koordinator hat Ihre Behörde validiert: Sie kann jetzt in IMI arbeiten.\n".into(),
        ),
        (kinds::AUTHORITY_VALIDATED, _) => (
            "IMI: your authority is validated".into(),
            "Your coordinator validated your authority: it can now work in IMI.\n".into(),
        ),
        (kinds::USER_REGISTERED, "fr") => (
            "IMI : votre compte utilisateur".into(),
            format!("Un compte IMI a été créé pour vous dans l'autorité {authority}.\n"),
        ),
        (kinds::USER_REGISTERED, "de") => (
            "IMI: Ihr Benutzerkonto".into(),
            format!("Für Sie wurde ein IMI-Benutzerkonto in der Behörde {authority} angelegt.\n"),
        ),
        (kinds::USER_REGISTERED, _) => (
            "IMI: your user account".into(),
            format!("An IMI user account was created for you in the authority {authority}.\n"),
        ),
        (kinds::PASSWORD_RESET, "fr") => (
            "IMI : votre mot de passe a été réinitialisé".into(),
            "Votre mot de passe IMI a été réinitialisé par un administrateur. Si vous ne l'avez pas demandé, contactez votre administrateur local.\n".into(),
        ),
        (kinds::PASSWORD_RESET, "de") => (
            "IMI: Ihr Passwort wurde zurückgesetzt".into(),
            "Ihr IMI-Passwort wurde von einem Administrator zurückgesetzt. Falls Sie das nicht veranlasst haben, wenden Sie sich an Ihren lokalen Administrator.\n".into(),
        ),
        (kinds::PASSWORD_RESET, _) => (
            "IMI: your password was reset".into(),
            "Your IMI password was reset by an administrator. If you did not ask for it, contact your local data administrator.\n".into(),
        ),
        (other, _) => (
            format!("IMI: {}", other.replace('_', " ")),
            format!("{}\n", params),
        ),
    };
    let fell_back = lang == "en" && language != "en";
    Text {
        subject: if fell_back {
            format!("[en] {subject}")
        } else {
            subject
        },
        body,
        language: lang,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_kind_has_its_own_text_in_every_written_language() {
        let params = json!({"authority_id": "ca-1", "expires_at": "2026-12-26T10:00:00Z"});
        for kind in kinds::ALL {
            for lang in LANGUAGES {
                let text = render(kind, &params, lang, Some("CODE"));
                assert_eq!(text.language, lang);
                assert!(!text.subject.contains(kind), "{kind} {lang}: generic text");
                assert!(!text.subject.starts_with("[en]"));
            }
            let en = render(kind, &params, "en", None).subject;
            assert_ne!(en, render(kind, &params, "fr", None).subject, "{kind}");
            assert_ne!(en, render(kind, &params, "de", None).subject, "{kind}");
        }
    }

    #[test]
    fn a_missing_translation_falls_back_to_english_visibly() {
        let text = render(kinds::AUTHORITY_VALIDATED, &json!({}), "pl", None);
        assert_eq!(text.language, "en");
        assert_eq!(text.subject, "[en] IMI: your authority is validated");
    }

    #[test]
    fn the_registration_mail_carries_the_code_and_its_expiry() {
        let params = json!({"authority_id": "ca-1", "expires_at": "2026-12-26T10:00:00Z"});
        let text = render(kinds::REGISTRATION_CODE, &params, "de", Some("ABCD-EFGH"));
        assert!(text.body.contains("ABCD-EFGH"));
        assert!(text.body.contains("2026-12-26"));
    }

    #[test]
    fn member_states_map_to_their_first_official_language() {
        assert_eq!(language_of_member_state("AT"), "de");
        assert_eq!(language_of_member_state("LU"), "fr");
        assert_eq!(language_of_member_state("NO"), "en");
        assert_eq!(language_of_member_state("SE"), "sv");
    }
}
