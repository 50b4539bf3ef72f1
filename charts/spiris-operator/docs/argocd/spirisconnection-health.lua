-- Argo CD health of a SpirisConnection (argocd-cm key
-- resource.customizations.health.spiris.senseworks.io_SpirisConnection). Written from the status the
-- operator writes: status.phase, the Ready condition and status.observedGeneration. Waiting for a person's
-- consent can take days, so it is Suspended (waiting on an external event), not Progressing (which would
-- hold an Argo CD sync open).
local hs = {}
local function condition(status, kind)
  if status.conditions ~= nil then
    for _, c in ipairs(status.conditions) do
      if c.type == kind then
        return c
      end
    end
  end
  return nil
end

local status = obj.status
if status == nil or status.phase == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to see the connection"
  return hs
end
if status.observedGeneration ~= nil and obj.metadata.generation ~= nil
    and status.observedGeneration < obj.metadata.generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to act on the latest spec"
  return hs
end
local ready = condition(status, "Ready")
local said = ""
if ready ~= nil and ready.message ~= nil then
  said = ready.message
end
if status.phase == "Suspended" then
  hs.status = "Suspended"
  hs.message = "Suspended by spec.suspend"
elseif status.phase == "PendingConsent" then
  hs.status = "Suspended"
  hs.message = "Waiting for consent in Spiris (the link is in status.consentUrl)"
elseif status.phase == "ReconsentRequired" or status.phase == "Failed" then
  hs.status = "Degraded"
  hs.message = status.phase .. ": " .. said
elseif ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = said
elseif ready ~= nil and ready.status == "False" then
  hs.status = "Degraded"
  hs.message = said
else
  hs.status = "Progressing"
  hs.message = status.phase
end
return hs
