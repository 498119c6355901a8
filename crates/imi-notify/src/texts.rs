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
        (other, lang) => match exchange_subject(other, lang) {
            Some(subject) => (format!("IMI: {subject}"), exchange_body(subject, params, lang)),
            None => (
                format!("IMI: {}", other.replace('_', " ")),
                format!("{}\n", params),
            ),
        },
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

/// The subjects of the information request and alert notifications, in en, fr, de.
/// The footer of every mail of a training environment: nothing in it is real, and its clock
/// runs ahead of the calendar.
pub fn training_footer(offset: chrono::Duration, now: chrono::DateTime<chrono::Utc>) -> String {
    format!(
        "\n\n-- \nIMI training environment: nothing in this mail is real. The training clock \
         runs {} ahead of the calendar (training time {}).\n",
        imi_store::training::describe(offset),
        now.format("%Y-%m-%d %H:%M UTC")
    )
}

fn exchange_subject(kind: &str, lang: &str) -> Option<&'static str> {
    let [en, fr, de] = match kind {
        kinds::REQUEST_AWAITING_APPROVAL => [
            "a new request awaits your approval",
            "une nouvelle demande attend votre approbation",
            "eine neue Anfrage wartet auf Ihre Genehmigung",
        ],
        kinds::REQUEST_SENT_BACK => [
            "your request was sent back",
            "votre demande a été renvoyée",
            "Ihre Anfrage wurde zurückgesandt",
        ],
        kinds::REQUEST_RECEIVED => [
            "new incoming information request",
            "nouvelle demande d'information reçue",
            "neues eingehendes Auskunftsersuchen",
        ],
        kinds::REQUEST_FORWARDED => [
            "an information request was forwarded",
            "une demande d'information a été transférée",
            "ein Auskunftsersuchen wurde weitergeleitet",
        ],
        kinds::REQUEST_AWAITING_ALLOCATION => [
            "a request awaits allocation",
            "une demande attend d'être attribuée",
            "eine Anfrage wartet auf Zuweisung",
        ],
        kinds::REQUEST_ASSIGNED => [
            "a request was assigned to you",
            "une demande vous a été attribuée",
            "Ihnen wurde eine Anfrage zugewiesen",
        ],
        kinds::REQUEST_ACCEPTED => [
            "your request was accepted",
            "votre demande a été acceptée",
            "Ihre Anfrage wurde angenommen",
        ],
        kinds::ANSWER_DATE_PROPOSED => [
            "another answer date is proposed",
            "une autre date de réponse est proposée",
            "ein anderes Antwortdatum wird vorgeschlagen",
        ],
        kinds::REPLY_AWAITING_APPROVAL => [
            "a reply awaits your approval",
            "une réponse attend votre approbation",
            "eine Antwort wartet auf Ihre Genehmigung",
        ],
        kinds::PARTIAL_REPLY => [
            "a partial reply arrived",
            "une réponse partielle est arrivée",
            "eine Teilantwort ist eingegangen",
        ],
        kinds::FULL_REPLY => [
            "the reply arrived",
            "la réponse est arrivée",
            "die Antwort ist eingegangen",
        ],
        kinds::ADDITIONAL_INFORMATION_REQUESTED => [
            "additional information is requested",
            "des informations complémentaires sont demandées",
            "zusätzliche Informationen werden erbeten",
        ],
        kinds::REPLY_MAINTAINED => [
            "the responder maintains its reply",
            "l'autorité maintient sa réponse",
            "die Behörde hält an ihrer Antwort fest",
        ],
        kinds::REFERRAL_OPENED => [
            "a referral awaits your opinion",
            "un renvoi attend votre avis",
            "eine Befassung wartet auf Ihre Stellungnahme",
        ],
        kinds::REQUEST_CLOSED => [
            "a request was closed",
            "une demande a été clôturée",
            "eine Anfrage wurde abgeschlossen",
        ],
        kinds::REQUEST_WITHDRAWN => [
            "a request was withdrawn",
            "une demande a été retirée",
            "eine Anfrage wurde zurückgezogen",
        ],
        kinds::ACCEPTANCE_OVERDUE => [
            "a request was not accepted within 7 days",
            "une demande n'a pas été acceptée dans les 7 jours",
            "eine Anfrage wurde nicht innerhalb von 7 Tagen angenommen",
        ],
        kinds::ANSWER_DUE_SOON => [
            "an answer date is near",
            "une date de réponse approche",
            "ein Antwortdatum rückt näher",
        ],
        kinds::ANSWER_OVERDUE => [
            "an answer date has passed",
            "une date de réponse est dépassée",
            "ein Antwortdatum ist überschritten",
        ],
        kinds::REQUEST_INACTIVE => [
            "a request has been inactive for 2 months",
            "une demande est inactive depuis 2 mois",
            "eine Anfrage ist seit 2 Monaten inaktiv",
        ],
        kinds::ALERT_AWAITING_BROADCAST => [
            "an alert awaits your check and broadcast",
            "une alerte attend votre vérification et diffusion",
            "eine Warnmeldung wartet auf Prüfung und Versand",
        ],
        kinds::ALERT_SENT_BACK => [
            "your alert was sent back",
            "votre alerte a été renvoyée",
            "Ihre Warnmeldung wurde zurückgesandt",
        ],
        kinds::INCOMING_ALERT => [
            "an incoming alert awaits acknowledgement",
            "une alerte entrante attend l'accusé de réception",
            "eine eingehende Warnmeldung wartet auf Empfangsbestätigung",
        ],
        kinds::OUTGOING_ALERT => [
            "an alert was sent from your Member State",
            "une alerte a été envoyée depuis votre État membre",
            "eine Warnmeldung wurde aus Ihrem Mitgliedstaat versandt",
        ],
        kinds::ALERT_DISSEMINATED => [
            "an alert was sent to you",
            "une alerte vous a été transmise",
            "Ihnen wurde eine Warnmeldung übermittelt",
        ],
        kinds::ALERT_INFORMATION_TO_BROADCAST => [
            "additional information awaits broadcast",
            "des informations complémentaires attendent d'être diffusées",
            "zusätzliche Informationen warten auf Versand",
        ],
        kinds::ALERT_INFORMATION => [
            "additional information on an alert",
            "informations complémentaires sur une alerte",
            "zusätzliche Informationen zu einer Warnmeldung",
        ],
        kinds::CLOSURE_PROPOSED => [
            "closure proposed: the comment period runs",
            "clôture proposée : la période de commentaires court",
            "Abschluss vorgeschlagen: die Kommentarfrist läuft",
        ],
        kinds::COMMENT_PERIOD_ENDED => [
            "the comment period ended",
            "la période de commentaires est terminée",
            "die Kommentarfrist ist abgelaufen",
        ],
        kinds::CLOSURE_PROPOSAL_BROADCAST => [
            "closure proposal: the objection period runs",
            "proposition de clôture : la période d'objection court",
            "Abschlussvorschlag: die Einspruchsfrist läuft",
        ],
        kinds::CLOSURE_OBJECTED => [
            "a Member State objected to the closure",
            "un État membre s'est opposé à la clôture",
            "ein Mitgliedstaat hat dem Abschluss widersprochen",
        ],
        kinds::OBJECTION_PERIOD_ENDED => [
            "the objection period ended: the alert may be closed",
            "la période d'objection est terminée : l'alerte peut être clôturée",
            "die Einspruchsfrist ist abgelaufen: die Warnmeldung kann abgeschlossen werden",
        ],
        kinds::ALERT_CLOSED => [
            "an alert was closed",
            "une alerte a été clôturée",
            "eine Warnmeldung wurde abgeschlossen",
        ],
        kinds::ALERT_WITHDRAWN => [
            "an alert was withdrawn",
            "une alerte a été retirée",
            "eine Warnmeldung wurde zurückgezogen",
        ],
        kinds::THREE_DAY_DEADLINE_MISSED => [
            "the alert was not sent within 3 days of the decision",
            "l'alerte n'a pas été envoyée dans les 3 jours suivant la décision",
            "die Warnmeldung wurde nicht innerhalb von 3 Tagen nach der Entscheidung versandt",
        ],
        kinds::SUBJECT_REQUEST_DUE_SOON => [
            "a data subject's request is due soon",
            "une demande d'une personne concernée arrive à échéance",
            "die Frist eines Antrags einer betroffenen Person läuft bald ab",
        ],
        kinds::SUBJECT_REQUEST_OVERDUE => [
            "a data subject's request is overdue",
            "une demande d'une personne concernée est en retard",
            "die Frist eines Antrags einer betroffenen Person ist überschritten",
        ],
        _ => return None,
    };
    Some(match lang {
        "fr" => fr,
        "de" => de,
        _ => en,
    })
}

/// The body of an exchange notification: what happened, which exchange, the dates it names.
fn exchange_body(subject: &str, params: &Value, lang: &str) -> String {
    let labels = |en: &'static str, fr: &'static str, de: &'static str| match lang {
        "fr" => fr,
        "de" => de,
        _ => en,
    };
    let mut body = format!("{}.\n\n", capitalized(subject));
    if let Some(id) = params.get("request_id").and_then(Value::as_str) {
        let label = labels(
            "Information request",
            "Demande d'information",
            "Auskunftsersuchen",
        );
        body.push_str(&format!("{label}: {id}\n"));
    }
    if let Some(id) = params.get("alert_id").and_then(Value::as_str) {
        let label = labels("Alert", "Alerte", "Warnmeldung");
        body.push_str(&format!("{label}: {id}\n"));
    }
    if let Some(id) = params.get("subject_request_id").and_then(Value::as_str) {
        let label = labels(
            "Data subject's request",
            "Demande d'une personne concernée",
            "Antrag einer betroffenen Person",
        );
        body.push_str(&format!("{label}: {id}\n"));
    }
    if params.get("answer_date").is_some() {
        let label = labels("Answer date", "Date de réponse", "Antwortdatum");
        body.push_str(&format!("{label}: {}\n", date(params, "answer_date")));
    }
    if params.get("ends_at").is_some() {
        let label = labels("Ends", "Fin", "Ende");
        body.push_str(&format!("{label}: {}\n", date(params, "ends_at")));
    }
    body
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
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
                assert!(!text.body.contains('{'), "{kind} {lang}: raw parameters");
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
