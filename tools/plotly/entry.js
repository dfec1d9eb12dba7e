// The traces Segmento draws; built into one browser script by build.sh.
var Plotly = require('plotly.js/lib/core');
Plotly.register([require('plotly.js/lib/bar'), require('plotly.js/lib/heatmap'), require('plotly.js/lib/sankey')]);
module.exports = Plotly;
