"""The only code that imports torch: conversion, the pooling paths, devices, gradients."""
