"""The sweep summary page: each recorded number against each swept parameter (mean and spread over
seeds), as one self-contained HTML page with plotly.js embedded (it renders offline)."""
from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from labkit.report.html import CSS, plotly_js
from labkit.viz.theme import COLORS, apply_theme


def metric_figure(df: pd.DataFrame, metric: str, param: str, others: list[str]) -> go.Figure:
    """``metric`` against ``param``: one line per combination of the other swept parameters, with the
    mean over seeds and a bar of one standard deviation."""
    fig = go.Figure()
    groups = df.groupby(others, dropna=False) if others else [((), df)]
    for k, (key, sub) in enumerate(groups):
        stats = sub.groupby(param)[metric].agg(["mean", "std", "count"]).reset_index().sort_values(param)
        label = ", ".join(f"{o}={v}" for o, v in zip(others, key if isinstance(key, tuple) else (key,))) or metric
        fig.add_trace(go.Scatter(x=stats[param], y=stats["mean"], name=label, mode="lines+markers",
                                 error_y=dict(type="data", array=stats["std"].fillna(0.0), visible=True),
                                 line=dict(color=COLORS[k % len(COLORS)])))
    fig.update_layout(title=f"{metric} against {param}", xaxis_title=param, yaxis_title=metric, height=420,
                      showlegend=bool(others))
    if pd.api.types.is_numeric_dtype(df[param]) and (df[param] > 0).all() and df[param].max() / max(df[param].min(), 1e-12) >= 50:
        fig.update_xaxes(type="log")
    return fig


def summary_page(entry, names: list[str], df: pd.DataFrame) -> str:
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
    failed = df[df["status"] != "ok"]
    failed_html = ""
    if len(failed):
        rows = "".join(f"<tr><td>{html.escape(', '.join(f'{n}={r[n]}' for n in names))}</td><td>{html.escape(str(r['status']))}</td>"
                       f"<td class='lk-error'>{html.escape(str(r['error'] or ''))[:500]}</td></tr>" for _, r in failed.iterrows())
        failed_html = f"<h2>Points that did not finish</h2><table><tr><th>point</th><th>status</th><th>error</th></tr>{rows}</table>"
    table = df.drop(columns=["error"]).to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="", border=0)
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>sweep: {html.escape(entry.id)}</title>"
            f"<style>{CSS}</style><script>{plotly_js()}</script></head><body><div class='lk-gallery'>"
            f"<h1>Sweep of {html.escape(entry.title)}</h1><p><code>{html.escape(entry.id)}</code> · "
            f"{len(df)} points ({int((df['status'] == 'ok').sum())} ok) over {html.escape(', '.join(names))}. "
            f"Markers: mean over seeds; bars: one standard deviation.</p>{failed_html}{''.join(figures)}"
            f"<h2>All points</h2>{table}</div></body></html>")
