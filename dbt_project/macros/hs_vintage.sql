{#- Comtrade classification code (H0..H6) of an HS edition year. -#}
{% macro hs_vintage(year) -%}
    case {{ year }}
        when '1988' then 'H0' when '1992' then 'H0' when '1996' then 'H1' when '2002' then 'H2'
        when '2007' then 'H3' when '2012' then 'H4' when '2017' then 'H5' when '2022' then 'H6'
    end
{%- endmacro %}
