'use strict';

// Loads the addon that `napi build --platform` wrote for this platform.
const { platform, arch } = process;
const abi = platform === 'linux' ? '-gnu' : platform === 'win32' ? '-msvc' : '';
module.exports = require(`./node-native-addon.${platform}-${arch}${abi}.node`);
