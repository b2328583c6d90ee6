"""Independent closed-form spike times of a single neuron driven by one input spike (mpmath).

Used as oracles: they share no code with exactsnn (no kernels, no root finding).
"""

import mpmath


def nonleaky_times(w, t0, tau_syn, theta, t_max):
    """Non-leaky IF: w tau (1 - e^{-s/tau}) - k theta = theta  =>  t_k = t0 - tau log(1 - (k+1) theta/(w tau))."""
    out = []
    k = 1
    while k * theta < w * tau_syn:
        t = t0 - tau_syn * mpmath.log(1 - k * theta / (w * tau_syn))
        if t > t_max:
            break
        out.append(t)
        k += 1
    return out


def lif_double_tau_times(w, t0, tau_mem, theta, t_max):
    """LIF with tau_mem = 2 tau_syn: psp = tau_mem (x - x^2), x = e^{-s/tau_mem}; each reset adds
    -theta x / x_k. Spike k+1 solves  w tau_mem x^2 - (w tau_mem - theta sum_k 1/x_k) x + theta = 0
    (larger root, below the previous x)."""
    out, inv_sum = [], mpmath.mpf(0)
    x_prev = mpmath.mpf(1)
    while True:
        a = w * tau_mem
        b = -(w * tau_mem - theta * inv_sum)
        disc = b * b - 4 * a * theta
        if disc < 0:
            return out
        x = (-b + mpmath.sqrt(disc)) / (2 * a)
        if not (0 < x < x_prev):
            return out
        t = t0 - tau_mem * mpmath.log(x)
        if t > t_max:
            return out
        out.append(t)
        inv_sum += 1 / x
        x_prev = x


def alpha_first_time(w, t0, tau, theta):
    """LIF with tau_syn = tau_mem = tau: w s e^{-s/tau} = theta  =>  s = -tau W0(-theta/(w tau))."""
    arg = -theta / (w * tau)
    if arg < -1 / mpmath.e:
        return None
    return t0 - tau * mpmath.lambertw(arg, 0).real
