-- What the store's authority lookup (imi_store::authority_lookup) searches to find the
-- authorities a cross-authority rule concerns, straight from the event log (the consistent
-- source): the keys below only select candidates; each candidate is then loaded from its
-- events and checked, so the keys must be a superset of what the rules ask, never a subset.
--
--   placement:<MS>:<kind>         an authority of that kind was created in that Member State
--   coordinates:<MS>:<area>       ... as a coordinator of that legislative area
--   postbox                       the event names the incoming alert postbox role
--   linked:<authority id>         the event links that coordinator
--
-- A new event version that moves these fields must update this function (a new migration)
-- and rebuild the index; the store tests compare the lookup with the in-memory reference.
CREATE FUNCTION authority_lookup_keys(event_type text, payload json) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  WITH e AS (SELECT (payload -> event_type)::jsonb AS b)
  SELECT coalesce(array_agg(DISTINCT key ORDER BY key), '{}'::text[])
    FROM (
      SELECT 'placement:' || (b ->> 'member_state') || ':'
             || coalesce(b ->> 'kind', 'NationalCoordinator')
        FROM e
       WHERE event_type IN ('NationalCoordinatorRegistered', 'InvitationIssued', 'AuthorityRegistered')
      UNION ALL
      SELECT 'coordinates:' || (b ->> 'member_state') || ':' || (area #>> '{}')
        FROM e, jsonb_path_query(b, 'strict $.coordinated_areas[*]') AS area
       WHERE event_type IN ('InvitationIssued', 'AuthorityRegistered')
      UNION ALL
      SELECT 'postbox'
        FROM e
       WHERE jsonb_path_exists(b, 'strict $.** ? (@ == "IncomingAlertPostbox")')
      UNION ALL
      SELECT 'linked:' || (c #>> '{}')
        FROM e, jsonb_path_query(b, 'strict $.**.linked_coordinators[*]') AS c
      UNION ALL
      SELECT 'linked:' || (b ->> 'coordinator_id')
        FROM e
       WHERE event_type = 'CoordinatorLinked'
    ) AS keys (key)
   WHERE key IS NOT NULL
$$;

-- Only the events that can create an authority, give a role or link a coordinator.
CREATE INDEX events_authority_lookup ON events USING gin (authority_lookup_keys(event_type, payload))
  WHERE aggregate_type = 'Authority'
    AND event_type IN ('NationalCoordinatorRegistered', 'InvitationIssued', 'AuthorityRegistered',
                       'AreaAccessGranted', 'WorkflowAccessGranted', 'WorkflowRoleChanged',
                       'CoordinatorLinked');
