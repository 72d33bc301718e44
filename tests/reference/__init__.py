"""An independent reference implementation of the KPI definitions, computed straight from landing files."""
