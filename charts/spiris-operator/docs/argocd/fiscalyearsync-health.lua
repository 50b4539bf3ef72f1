-- Argo CD health of a FiscalYearSync (argocd-cm key
-- resource.customizations.health.spiris.senseworks.io_FiscalYearSync). Written from the status the operator
-- writes: status.phase (Pending, Queued, Running, Succeeded, Degraded, Failed), the Ready condition (the
-- year and its connection resolved) and status.lastJobOutcome.
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
-- A Pending year that cannot start until a person changes something (the others wait for the connection).
local stuck = { FiscalYearNotFound = true, ConnectionNotFound = true, InvalidSchedule = true }

local status = obj.status
if status == nil or status.phase == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to see the fiscal year"
  return hs
end
local ready = condition(status, "Ready")
local phase = status.phase
if phase == "Succeeded" then
  hs.status = "Healthy"
  hs.message = "Synced"
  if status.lastSuccessfulSyncTime ~= nil then
    hs.message = "Synced at " .. status.lastSuccessfulSyncTime
  end
elseif phase == "Degraded" then
  hs.status = "Degraded"
  hs.message = "Synced with documents missing (status.counts, status.lastJobOutcome)"
elseif phase == "Failed" then
  hs.status = "Degraded"
  local synced = condition(status, "Synced")
  hs.message = "Failed"
  if synced ~= nil and synced.message ~= nil then
    hs.message = synced.message
  end
elseif phase == "Pending" and ready ~= nil and ready.status == "False" and stuck[ready.reason] then
  hs.status = "Degraded"
  hs.message = ready.message or ready.reason
elseif phase == "Pending" or phase == "Queued" or phase == "Running" then
  hs.status = "Progressing"
  hs.message = phase
  if ready ~= nil and ready.status == "False" and ready.message ~= nil then
    hs.message = phase .. ": " .. ready.message
  elseif status.progress ~= nil and status.progress.percent ~= nil then
    hs.message = phase .. " (" .. status.progress.percent .. " %)"
  end
else
  hs.status = "Unknown"
  hs.message = "Unknown phase " .. phase
end
return hs
