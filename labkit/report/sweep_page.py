"""The sweep summary page: each recorded number against each swept parameter (mean and spread over
seeds), as one self-contained HTML page with plotly.js embedded (it renders offline)."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from labkit.report.html import plotly_js, render_page
from labkit.viz.theme import COLORS, apply_theme


def metric_figure(df: pd.DataFrame, metric: str, param: str, others: list[str]) -> go.Figure:
    """``metric`` against ``param``: one line per combination of the other swept parameters, with the
    mean over seeds and a bar of one standard deviation."""
    fig = go.Figure()
    groups = df.groupby(others, dropna=False) if others else [((), df)]
    for k, (key, sub) in enumerate(groups):
        stats = sub.groupby(param)[metric].agg(["mean", "std", "count"]).reset_index().sort_values(param)
        key = key if isinstance(key, tuple) else (key,)
        label = ", ".join(f"{o}={v}" for o, v in zip(others, key, strict=True)) or metric
        fig.add_trace(go.Scatter(x=stats[param], y=stats["mean"], name=label, mode="lines+markers",
                                 error_y=dict(type="data", array=stats["std"].fillna(0.0), visible=True),
                                 line=dict(color=COLORS[k % len(COLORS)])))
    fig.update_layout(title=f"{metric} against {param}", xaxis_title=param, yaxis_title=metric, height=420,
                      showlegend=bool(others))
    values = df[param]
    if pd.api.types.is_numeric_dtype(values) and (values > 0).all() and values.max() / max(values.min(), 1e-12) >= 50:
        fig.update_xaxes(type="log")
    return fig


def summary_page(entry, names: list[str], df: pd.DataFrame) -> str:
    """The page: a figure per recorded number and swept parameter, the failed points, and the table."""
    apply_theme()
    swept = [n for n in names if n != "seed"]
    ok = df[df["status"] == "ok"]
    reserved = set(names) | {"status", "error", "duration_s"}
    metrics = [c for c in df.columns if c not in reserved and pd.api.types.is_numeric_dtype(df[c])
               and not pd.api.types.is_bool_dtype(df[c]) and ok[c].notna().any()]
    figures = []
    for metric in metrics:
        for param in swept:
            others = [o for o in swept if o != param]
            figures.append(pio.to_html(metric_figure(ok, metric, param, others), include_plotlyjs=False,
                                       full_html=False, default_width="100%"))
    failed = [(", ".join(f"{n}={r[n]}" for n in names), str(r["status"]), str(r["error"] or ""))
              for _, r in df[df["status"] != "ok"].iterrows()]
    table = df.drop(columns=["error"]).to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="", border=0)
    n_ok = int((df["status"] == "ok").sum())
    return render_page("sweep.html.j2", entry=entry, names=names, n_points=len(df), n_ok=n_ok, failed=failed,
                       figures=figures, table=table, plotly_js=plotly_js())
