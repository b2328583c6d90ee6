"""Names that the engine templates call, so the templates read (and lint) as normal modules.

The real definitions are generated per model (``exactsnn.codegen``) and the templates are
stamped below them; these stubs are never executed. Every module-level name a printed kernel module
defines is declared here, so no model parameter may take it (``exactsnn.model.reserved_names``; a
test compares this list with a generated module).
"""

N_PARAMS = 1
N_SLOTS = 1
STRATEGY_EXPSUM = True
STATE_PLAIN = False


def _never(*args):
    raise RuntimeError("engine templates are not run directly; load a generated model module")


psp = dpsp_ds = reset = dreset_ds = firing_threshold = _never
dpsp_dp = dreset_dp = dthreshold_dp = newton_state = _never
closed_form_kind = _never
iv_psp = iv_dpsp_ds = iv_reset = iv_dreset_ds = _never
p_load = _never
d2psp_ds2 = d2reset_ds2 = _never  # second derivatives in s (exactsnn.hessian)
d2psp_dsdp = d2reset_dsdp = d2psp_dp2 = d2reset_dp2 = d2threshold_dp2 = _never  # model-parameter HVP block
