"""A guided tour of the rfdiff Python API, in notebook-style cells (``# %%``).

Run it as a script (``python examples/walkthrough.py``, ~30 s) or cell by cell in an editor that
understands ``# %%`` (VS Code, Spyder, Jupyter via jupytext). It prints what each step
computes and writes ``walkthrough.png`` / ``walkthrough.pdf``: the spectrum of U against
finite-size eigenvalues (left) and the limit learning curves against a finite-size gradient
flow (right). Only the public API is used; the theory is in docs/theory.md.
"""

# %% [markdown]
# ## 1. The model
# ``RFModel(psi_p, psi_n, t)`` fixes the random-features score model of Bonnaire, Urfin,
# Biroli & Mézard: p = psi_p d features, n = psi_n d training points, diffusion time t.
# Defaults: tanh features, data N(0, I_d). Everything below is the d -> infinity limit
# unless it comes from ``rfdiff.simulate``.

# %%
import matplotlib

matplotlib.use("Agg")  # write files; remove this line to plot interactively
import matplotlib.pyplot as plt
import numpy as np

import rfdiff
from rfdiff import simulate

model = rfdiff.RFModel(psi_p=64, psi_n=8, t=0.1)
print(f"psi_p = {model.psi_p:g}, psi_n = {model.psi_n:g}, t = {model.t:g}, "
      f"activation = {model.activation.name}, data spectrum = {model.data}")

# %% [markdown]
# ## 2. Gaussian-equivalence constants
# The nonlinearity enters the theory only through a few Gaussian integrals (a_t, b_t, v_t^2,
# s_t^2, mu_1, mu_*^2), computed by Gauss–Hermite quadrature to ~1e-14. For tanh with
# sigma_x = 1, mu_1 = 0.605706 at every t (a reference value of docs/theory.md §3).

# %%
c = model.constants
print(f"Delta_t = {c.delta:.6f}  a_t = {c.a:.6f}  b_t = {c.b:.6f}  v_t^2 = {c.v2:.6f}  "
      f"s_t^2 = {c.s2:.6f}  mu_1 = {c.mu1:.6f}  mu_*^2 = {c.mustar2:.6f}")

# %% [markdown]
# ## 3. The Stieltjes transform and the density
# ``q(z) = (1/p) Tr (U - z)^{-1}`` with Im q > 0 above the real axis (the sign convention of the
# whole package). Real z gives the boundary value q(lambda + i0), solved on the axis itself, so
# ``density = Im q(lambda + i0) / pi`` is exact and carries no Lorentzian tail of the atom.
# At large |z|, z q(z) -> -1.

# %%
q = model.stieltjes(np.array([0.1 + 1e-10j, 1e4 + 0j]))
print("q(0.1 + 1e-10 i) =", q[0], "  1e4 * q(1e4) =", (1e4 * q[1]).real)
lam = np.linspace(0.05, 0.25, 5)
print("density on", lam, "=", model.density(lam))

# %% [markdown]
# ## 4. The structure of the spectrum
# ``spectrum()`` finds the atoms (with weights), the support intervals (edges to ~1e-15) and the
# mass of each. Here: the atom at s_t^2 with weight 1 - (1 + psi_n)/psi_p = 55/64 (eigenvectors
# orthogonal to the features' span: they never move the losses), the cluster of mass 1/psi_p
# that the paper's asymptotic formulas miss, the memorization bulk rho_1, and the population
# bulk rho_2 on the scale psi_p.

# %%
sp = model.spectrum()
print("atoms (location, weight):", sp.atoms, " rank formula:", sp.atom_weight_formula)
for (lo, hi), mass in zip(sp.support, sp.masses):
    print(f"  support [{lo:.4g}, {hi:.4g}]  mass {mass:.5f}")
print("CDF at 1.0:", sp.cdf(1.0), " total mass:", sp.total_mass)

# %% [markdown]
# ## 5. Timescales from the spectrum
# Each eigenmode lambda of U relaxes under gradient flow as exp(-2 Delta_t lambda tau / psi_p).
# ``timescales()`` labels every component, its share of the train-loss drop and its time in the
# paper's convention psi_p / (Delta_t lambda): tau_gen from rho_2, tau_mem from the lower edge
# of rho_1, tau_mem_loss from the slowest component that carries a share of the loss.

# %%
ts = model.timescales()
for comp in ts.components:
    print(f"  {comp.label:14s} [{comp.lo:.4g}, {comp.hi:.4g}]  loss share {comp.loss_share:.3f}  "
          f"time {comp.time:.4g}")
print(f"tau_gen = {ts.tau_gen:.4g}, tau_mem = {ts.tau_mem:.4g}, tau_mem_loss = {ts.tau_mem_loss:.4g}")

# %% [markdown]
# ## 6. Learning curves in the limit
# ``learning_curves(tau)`` gives L_train, L_test, L_gen = L_test - L_train and the score error
# E_score for isotropic data (two-point deterministic equivalent). ``dynamical_timescales()``
# reads tau_gen (E_score within 5 % of its minimum) and tau_mem (L_gen at half its tau -> inf
# value) off these curves.

# %%
tau = np.logspace(-1, 6, 120)
lc = model.learning_curves(tau)
dyn = model.dynamical_timescales()
print(f"L_gen(inf) = {dyn.gen_inf:.4f}, min E_score = {dyn.score_min:.4f} at tau = {dyn.tau_score_min:.3g}")
print(f"dynamical tau_gen = {dyn.tau_gen_dyn:.3g}, tau_mem = {dyn.tau_mem_dyn:.3g}")

# %% [markdown]
# ## 7. The finite-size check
# ``rfdiff.simulate`` builds U, V, U~, V~ for one draw of W and X at a finite d: with the noise
# average exact (``noise="exact"``), by Monte Carlo (an int), or Gaussian-equivalent. Its
# eigenvalues and its exact gradient-flow curves are the independent check of the theory.
# d = 20 keeps this cell fast (p = 1280); expect O(1/sqrt(d)) deviations.

# %%
ev = simulate.eigenvalues(model, d=20, seeds=range(2), noise="gaussian")
flow = simulate.gradient_flow(model, tau[::10], d=20, seed=0, noise="gaussian")
print("finite-size L_gen at tau = 1e4:", np.interp(4.0, np.log10(flow.tau), flow.gen),
      " limit:", np.interp(4.0, np.log10(tau), lc.gen))

# %% [markdown]
# ## 8. Other settings
# Another activation (``"erf"`` or any centred callable via ``rfdiff.centred``) and anisotropic
# data (a discrete rho_Sigma) go through the same calls; the learning curves need isotropic data.

# %%
aniso = rfdiff.RFModel(psi_p=8, psi_n=2, t=0.1, activation="erf",
                       data=rfdiff.DataSpectrum([0.5, 1.5], [0.5, 0.5]))
print("anisotropic erf model, support:", [(round(a, 4), round(b, 4)) for a, b in aniso.spectrum().support])

# %% [markdown]
# ## 9. One figure
# Spectrum per unit ln(lambda) against the eigenvalue histogram; learning curves against the
# finite-size flow.

# %%
fig, (ax_s, ax_c) = plt.subplots(1, 2, figsize=(13, 4.5))
for k, comp in enumerate(sp.components):
    ok = np.isfinite(comp.density)
    ax_s.plot(comp.lam[ok], comp.lam[ok] * comp.density[ok], "C0", label="theory" if k == 0 else None)
edges = np.geomspace(sp.support[0][0] / 1.5, sp.support[-1][1] * 1.5, 100)
counts, _ = np.histogram(ev.pooled, bins=edges)
ax_s.stairs(counts / (ev.values.size * np.diff(np.log(edges))), edges, fill=True, alpha=0.35, color="C1",
            label=f"d = {ev.d}, {len(ev.seeds)} seeds (Gaussian equivalent)")
ax_s.axvline(sp.atoms[0][0], color="C3", ls="--", lw=1, label=f"atom, weight {sp.atoms[0][1]:.4f}")
ax_s.set(xscale="log", xlabel=r"$\lambda$", ylabel=r"$\lambda\,\rho(\lambda)$", title="spectrum of U")
ax_s.legend(fontsize=8)
for key, color in (("train", "C0"), ("test", "C1"), ("gen", "C2")):
    ax_c.plot(tau, getattr(lc, key), color=color, label=f"L_{key} (limit)")
    ax_c.plot(flow.tau, getattr(flow, key), "o", color=color, mfc="none", ms=4)
ax_c.axvline(dyn.tau_gen_dyn, color="0.5", ls=":", lw=1)
ax_c.axvline(dyn.tau_mem_dyn, color="0.5", ls="--", lw=1)
ax_c.set(xscale="log", xlabel=r"$\tau$", ylabel="loss",
         title=r"learning curves (o: $d = 20$); dotted $\tau_{gen}$, dashed $\tau_{mem}$")
ax_c.legend(fontsize=8)
fig.tight_layout()
for ext in ("png", "pdf"):
    fig.savefig(f"walkthrough.{ext}", dpi=130)
print("wrote walkthrough.png, walkthrough.pdf")
