//! The authority's data: names, description, contact details and contact person (general
//! data: its LDAs and its validating coordinator), and per area its competences, professions
//! and service activities (its LDAs and its access coordinator there).

use super::*;

/// Which per-area reference list a set of codes comes from.
#[derive(Clone, Copy, Debug)]
pub(super) enum AreaCodes {
    Professions,
    ServiceActivities,
}

impl AuthorityState {
    pub(super) async fn set_informal_title(
        &self,
        by: &Actor,
        services: &dyn AuthorityServices,
        language: Language,
        title: Option<String>,
    ) -> Result<Vec<AuthorityEvent>, DomainError> {
        self.prelude(by, services, AuthorityMutation::EditGeneralData)
            .await?;
        Ok(match title {
            Some(title) => {
                let title = checked_name("informal title", &title)?;
                if self.informal_titles.get(&language) == Some(&title) {
                    vec![]
                } else {
                    vec![AuthorityEvent::InformalTitleSet { language, title }]
                }
            }
            None if self.informal_titles.contains_key(&language) => {
                vec![AuthorityEvent::InformalTitleRemoved { language }]
            }
            None => vec![],
        })
    }

    pub(super) async fn set_official_name(
        &self,
        by: &Actor,
        services: &dyn AuthorityServices,
        official_name: String,
    ) -> Result<Vec<AuthorityEvent>, DomainError> {
        self.prelude(by, services, AuthorityMutation::EditGeneralData)
            .await?;
        let official_name = checked_name("official name", &official_name)?;
        if self.registered.as_ref().map(|r| &r.official_name) == Some(&official_name) {
            return Ok(vec![]);
        }
        Ok(vec![AuthorityEvent::OfficialNameChanged { official_name }])
    }

    pub(super) async fn set_description(
        &self,
        by: &Actor,
        services: &dyn AuthorityServices,
        description: Option<String>,
    ) -> Result<Vec<AuthorityEvent>, DomainError> {
        self.prelude(by, services, AuthorityMutation::EditGeneralData)
            .await?;
        let description = checked_text("the description", description, MAX_DESCRIPTION_CHARS)?;
        if self.description == description {
            return Ok(vec![]);
        }
        Ok(vec![AuthorityEvent::DescriptionChanged { description }])
    }

    pub(super) async fn set_contact_details(
        &self,
        by: &Actor,
        services: &dyn AuthorityServices,
        contact: ContactDetails,
    ) -> Result<Vec<AuthorityEvent>, DomainError> {
        self.prelude(by, services, AuthorityMutation::EditGeneralData)
            .await?;
        let contact = checked_contact(contact)?;
        if self.contact == contact {
            return Ok(vec![]);
        }
        Ok(vec![AuthorityEvent::ContactDetailsChanged { contact }])
    }

    pub(super) async fn set_contact_person(
        &self,
        by: &Actor,
        services: &dyn AuthorityServices,
        contact_person: Option<Sealed>,
    ) -> Result<Vec<AuthorityEvent>, DomainError> {
        let (_, target) = self
            .prelude(by, services, AuthorityMutation::EditGeneralData)
            .await?;
        if let Some(person) = &contact_person {
            checked_sealed_for_authority("the contact person", person, &target.authority_id)?;
        }
        if self.contact_person == contact_person {
            return Ok(vec![]);
        }
        Ok(vec![AuthorityEvent::ContactPersonChanged {
            contact_person,
        }])
    }

    pub(super) async fn set_competences(
        &self,
        by: &Actor,
        services: &dyn AuthorityServices,
        area: LegislativeArea,
        keywords: BTreeSet<Keyword>,
    ) -> Result<Vec<AuthorityEvent>, DomainError> {
        self.prelude(by, services, AuthorityMutation::EditAreaData(area.clone()))
            .await?;
        let access = self.area(&area)?;
        for keyword in &keywords {
            if !services
                .is_known_keyword(keyword)
                .await
                .map_err(unavailable)?
            {
                return Err(DomainError::invalid(format!(
                    "{:?} is not an entry of the {:?} keyword list",
                    keyword.code, keyword.list
                )));
            }
        }
        if access.competences == keywords {
            return Ok(vec![]);
        }
        Ok(vec![AuthorityEvent::CompetencesChanged { area, keywords }])
    }

    pub(super) async fn set_area_codes(
        &self,
        by: &Actor,
        services: &dyn AuthorityServices,
        area: LegislativeArea,
        which: AreaCodes,
        codes: BTreeSet<String>,
    ) -> Result<Vec<AuthorityEvent>, DomainError> {
        self.prelude(by, services, AuthorityMutation::EditAreaData(area.clone()))
            .await?;
        let access = self.area(&area)?;
        let codes: BTreeSet<String> = codes.iter().map(|c| c.trim().to_string()).collect();
        for code in &codes {
            let known = match which {
                AreaCodes::Professions => services.is_known_profession(&area, code).await,
                AreaCodes::ServiceActivities => {
                    services.is_known_service_activity(&area, code).await
                }
            }
            .map_err(unavailable)?;
            if !known {
                return Err(DomainError::invalid(match which {
                    AreaCodes::Professions => format!("{code:?} is not a profession of {area}"),
                    AreaCodes::ServiceActivities => {
                        format!("{code:?} is not a service activity of {area}")
                    }
                }));
            }
        }
        Ok(match which {
            AreaCodes::Professions if access.professions != codes => {
                vec![AuthorityEvent::ProfessionsChanged {
                    area,
                    professions: codes,
                }]
            }
            AreaCodes::ServiceActivities if access.service_activities != codes => {
                vec![AuthorityEvent::ServiceActivitiesChanged {
                    area,
                    service_activities: codes,
                }]
            }
            _ => vec![],
        })
    }
}
