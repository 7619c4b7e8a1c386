//! Walking expression trees.

use crate::ast::{Expr, ExprKind};

/// Calls `f` on `e` and every sub-expression, outer first. Subqueries are not
/// entered: they are separate scopes.
pub fn walk_expr<'a>(e: &'a Expr, f: &mut impl FnMut(&'a Expr)) {
    f(e);
    match &e.kind {
        ExprKind::Null
        | ExprKind::Number { .. }
        | ExprKind::String(_)
        | ExprKind::Column(_)
        | ExprKind::Exists(_)
        | ExprKind::Subquery(_) => {}
        ExprKind::Unary { expr, .. }
        | ExprKind::Not(expr)
        | ExprKind::IsNull { expr, .. }
        | ExprKind::Nested(expr)
        | ExprKind::Cast { expr, .. }
        | ExprKind::InSubquery { expr, .. } => walk_expr(expr, f),
        ExprKind::Binary { left, right, .. } => {
            walk_expr(left, f);
            walk_expr(right, f);
        }
        ExprKind::Between {
            expr, low, high, ..
        } => {
            walk_expr(expr, f);
            walk_expr(low, f);
            walk_expr(high, f);
        }
        ExprKind::InList { expr, list, .. } => {
            walk_expr(expr, f);
            list.iter().for_each(|x| walk_expr(x, f));
        }
        ExprKind::Like {
            expr,
            pattern,
            escape,
            ..
        } => {
            walk_expr(expr, f);
            walk_expr(pattern, f);
            if let Some(e) = escape {
                walk_expr(e, f);
            }
        }
        ExprKind::Function { args, .. } => args.iter().for_each(|x| walk_expr(x, f)),
        ExprKind::Case {
            operand,
            whens,
            otherwise,
        } => {
            if let Some(o) = operand {
                walk_expr(o, f);
            }
            for (w, t) in whens {
                walk_expr(w, f);
                walk_expr(t, f);
            }
            if let Some(o) = otherwise {
                walk_expr(o, f);
            }
        }
    }
}
