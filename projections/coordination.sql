-- Coordination tree (version 1): who coordinates whom. Nodes are authorities (invited ones
-- included, with their status); an edge says that `coordinator_id` coordinates `authority_id`:
--   Inviting          it invited or registered the authority (area and workflow '');
--   Validating        it validated the authority and manages its data (area and workflow '');
--   AccessCoordinator it granted (or took over) the authority's access to `area`;
--   LinkedCoordinator the authority is linked to it for `workflow` in `area` (`role` is the
--                     authority's own role there).
-- Edges from an authority to itself (a NIMIC coordinating its own workflows) are kept; the
-- queries leave them out. No personal data.
CREATE TABLE nodes
(
    authority_id           text PRIMARY KEY,
    member_state           text  NOT NULL,
    kind                   text  NOT NULL,
    region                 text,
    -- Invited | AwaitingValidation | Validated
    status                 text  NOT NULL,
    invited_by             text,
    validating_coordinator text,
    -- {area: {access_coordinator, workflows: {requests|alerts: {role, linked_coordinators}}}}
    areas                  jsonb NOT NULL
);

CREATE TABLE edges
(
    authority_id   text NOT NULL,
    coordinator_id text NOT NULL,
    relation       text NOT NULL,
    area           text NOT NULL,
    workflow       text NOT NULL,
    role           text,
    PRIMARY KEY (authority_id, relation, area, workflow, coordinator_id)
);
CREATE INDEX edges_by_coordinator ON edges (coordinator_id, authority_id);

CREATE TABLE sequences
(
    aggregate_id text PRIMARY KEY,
    sequence     bigint NOT NULL
);
