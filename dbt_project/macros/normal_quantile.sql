{#
    The standard normal quantile Φ⁻¹(p) as a SQL expression (DuckDB has no inverse normal CDF):
    Peter J. Acklam's rational approximation, relative error below 1.15e-9 over (0, 1). A central
    region (0.02425 <= p <= 0.97575) with a rational function of (p - 0.5)², and two tails with a
    rational function of sqrt(-2 ln p) (lower) or sqrt(-2 ln(1 - p)) (upper, mirrored). Null when p
    is outside (0, 1) or null. `p` is any SQL expression; it is rendered several times, so pass a
    literal or a column, not a subquery.
#}
{% macro normal_quantile(p) -%}
    {%- set a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00] -%}
    {%- set b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                 6.680131188771972e+01, -1.328068155288572e+01, 1.0] -%}
    {%- set c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                 -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00] -%}
    {%- set d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                 3.754408661907416e+00, 1.0] -%}
    {%- set p_low = 0.02425 -%}
    {%- set p_sql = "cast(" ~ p ~ " as double precision)" -%}
    {%- set central = "(" ~ p_sql ~ " - 0.5)" -%}
    {%- set central_sq = "(" ~ central ~ " * " ~ central ~ ")" -%}
    {%- set lower_q = "sqrt(-2.0 * ln(" ~ p_sql ~ "))" -%}
    {%- set upper_q = "sqrt(-2.0 * ln(1.0 - " ~ p_sql ~ "))" -%}
    case
        when {{ p_sql }} <= 0 or {{ p_sql }} >= 1 then cast(null as double precision)
        when {{ p_sql }} < {{ p_low }} then
            {{ _horner(c, lower_q) }} / {{ _horner(d, lower_q) }}
        when {{ p_sql }} <= {{ 1 - p_low }} then
            {{ _horner(a, central_sq) }} * {{ central }} / {{ _horner(b, central_sq) }}
        else
            -{{ _horner(c, upper_q) }} / {{ _horner(d, upper_q) }}
    end
{%- endmacro %}


{# The polynomial with these coefficients (highest power first) at x, in Horner form. #}
{% macro _horner(coefficients, x) -%}
    {%- set ns = namespace(expr=coefficients[0] | string) -%}
    {%- for coefficient in coefficients[1:] -%}
        {%- set ns.expr = "(" ~ ns.expr ~ " * " ~ x ~ " + " ~ coefficient ~ ")" -%}
    {%- endfor -%}
    {{ ns.expr }}
{%- endmacro %}
